/**
 * Where each run's journal read starts, through the real CLI (systemctl replayed from recorded
 * systemd 252 output, journalctl a script): the first run counts nothing before itself; a
 * cursor is followed; a journal that becomes unreadable is said once, and once readable again it
 * is read from the last unreadable run on, so no run is counted by both the journal and the
 * InvocationID fallback.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SUCCESS_MESSAGE_ID } from '../src/systemd/journal.ts';
import { runCli } from './support/cli.ts';
import { createReplay } from './support/replay.ts';

const seed = (name: string): string => readFileSync(new URL(`fixtures/seed-252/${name}`, import.meta.url), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'hb-journal-position-'));
const replay = createReplay({ listUnits: seed('list-units-all-output-json.txt'), show: seed('show-props-all-timestamp-unix.txt') });
after(() => {
  replay.remove();
  rmSync(dir, { recursive: true, force: true });
});

// journalctl: logs its arguments; prints the "not readable" hint when `denied` exists, else `out`.
const journalctl = join(dir, 'journalctl');
writeFileSync(
  journalctl,
  `#!/bin/sh\nprintf '%s\\n' "$*" >> '${dir}/calls'\nif [ -e '${dir}/denied' ]; then echo 'Hint: You are currently not seeing messages from other users and the system.' >&2; exit 0; fi\ncat '${dir}/out' 2>/dev/null || true\n`,
);
chmodSync(journalctl, 0o755);

const state = join(dir, 'state');
const run = () =>
  runCli(['--dry-run', '-u', 'hb-tick.timer', '--format', 'json'], {
    SYSTEMD_HEARTBEAT_SYSTEMCTL: replay.systemctl,
    SYSTEMD_HEARTBEAT_JOURNALCTL: journalctl,
    SYSTEMD_HEARTBEAT_STATE_DIR: state,
  });
const push = () =>
  runCli(['-u', 'hb-tick.timer', '--endpoint', 'http://127.0.0.1:1/v1/metrics', '--timeout', '300ms'], {
    SYSTEMD_HEARTBEAT_SYSTEMCTL: replay.systemctl,
    SYSTEMD_HEARTBEAT_JOURNALCTL: journalctl,
    SYSTEMD_HEARTBEAT_STATE_DIR: state,
  });
const lastCall = (): string => readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n').at(-1) ?? '';
const sinceOf = (call: string): number => Number(/--since=@([\d.]+)/.exec(call)?.[1]);

test('the journal position across runs', async () => {
  // Runs that push fail here (nothing listens), but they still keep their state: the position
  // is the same whether or not the push arrives.
  const t0 = Math.floor(Date.now() / 1000);
  await push();
  assert.ok(sinceOf(lastCall()) >= t0, `first run: from now on (${lastCall()})`);
  const first = sinceOf(lastCall());

  writeFileSync(
    join(dir, 'out'),
    `${JSON.stringify({
      __CURSOR: 's=1;i=5',
      __REALTIME_TIMESTAMP: String(Date.now() * 1000),
      MESSAGE_ID: SUCCESS_MESSAGE_ID,
      UNIT: 'hb-oneshot.service',
    })}\n`,
  );
  await push();
  assert.equal(sinceOf(lastCall()), first, 'no entry yet: still from the first run on');
  await push();
  assert.match(lastCall(), /--after-cursor=s=1;i=5/, 'then after the last entry read');

  writeFileSync(join(dir, 'denied'), '');
  const denied = await push();
  assert.match(denied.stderr, /warning: journal not readable \(Hint: You are currently not seeing messages/);
  const t2 = Math.floor(Date.now() / 1000);
  const again = await push();
  assert.doesNotMatch(again.stderr, /journal not readable/, 'said once, not every run');
  rmSync(join(dir, 'denied'));
  const back = await push();
  assert.match(back.stderr, /journal readable again/);
  assert.ok(sinceOf(lastCall()) >= t2 - 1, `read from the last unreadable run on, not from the old cursor: ${lastCall()}`);

  const dry = await run();
  const observations = JSON.parse(dry.stdout).observations as Array<{ name: string; labels: Record<string, string>; value: number }>;
  const readable = observations.find((o) => o.name === 'systemd_heartbeat_journal_readable');
  assert.equal(readable?.value, 1);
});
