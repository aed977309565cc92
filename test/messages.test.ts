/**
 * What a new user reads when systemd cannot be asked (issue 20.5), from the built CLI as a
 * process with a systemctl that fails as systemd 252's does: without systemd as PID 1, and for
 * --user without a user manager. One line per problem, with what to do; the usage line names
 * every command.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { USAGE } from '../src/cli.ts';
import { runCli } from './support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'hb-messages-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A systemctl that prints what systemd 252's prints in that situation, and exits 1. */
function failingSystemctl(name: string, stderr: string): string {
  const path = join(dir, name);
  writeFileSync(join(dir, `${name}.txt`), `${stderr}\n`);
  writeFileSync(path, `#!/bin/sh\ncat '${join(dir, `${name}.txt`)}' >&2\nexit 1\n`);
  chmodSync(path, 0o755);
  return path;
}

const NO_PID1 = failingSystemctl('no-pid1', "System has not been booted with systemd as init system (PID 1). Can't operate.");
const NO_USER_BUS = failingSystemctl('no-user-bus', 'Failed to connect to bus: No medium found');

test('without systemd as PID 1: one warning with the hint, then one error, for list, --dry-run and run', async () => {
  for (const args of [['list'], ['--dry-run'], ['--endpoint', 'http://127.0.0.1:1', '--timeout', '1s']]) {
    const r = await runCli([...args, '-u', 'a.service'], { SYSTEMD_HEARTBEAT_SYSTEMCTL: NO_PID1 });
    assert.equal(r.code, 1, args.join(' '));
    const lines = r.stderr.trimEnd().split('\n');
    const mentions = lines.filter((l) => l.includes('not been booted with systemd'));
    assert.equal(mentions.length, 1, `systemctl's message once (${args.join(' ')}):\n${r.stderr}`);
    assert.match(mentions[0] ?? '', /systemctl list-units, show\): .*systemd is not PID 1 here: .*`npm start` runs a demo/);
  }
});

test('--user without a user manager: the hint names XDG_RUNTIME_DIR and loginctl enable-linger', async () => {
  const r = await runCli(['list', '--user', '-u', 'a.service'], { SYSTEMD_HEARTBEAT_SYSTEMCTL: NO_USER_BUS });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /No medium found \(no user manager to ask: .*XDG_RUNTIME_DIR=\/run\/user\/\$\(id -u\).*loginctl enable-linger/);
});

test('the usage line names every command, and uninstall is described as uninstall --help describes it', () => {
  const line = USAGE.split('\n')[0] ?? '';
  for (const command of ['run', 'list', 'install', 'uninstall', 'summary', 'help'])
    assert.ok(line.includes(command), `${command} in ${line}`);
  assert.doesNotMatch(USAGE, /no file behind/);
});
