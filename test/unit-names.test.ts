/**
 * Unit names as operators write them (issue 20.1): the allowlist from their own notes, pasted as
 * is, works with the built CLI's `list` and `--dry-run`, which show the names as resolved; every
 * bad name is reported at once, saying what is wrong with it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { resolveUnitName, resolveUnitNames } from '../src/config.ts';
import { runCli } from './support/cli.ts';
import { createReplay, stripHeader } from './support/replay.ts';

const OPERATORS_LIST =
  'coily-audit-dashboard, coily-update, repo-recall, repo-recall-update, claude-remote-control, claude-remote-control-restart, game-*.service, k3s';
const RESOLVED = [
  'coily-audit-dashboard.service',
  'coily-update.service',
  'repo-recall.service',
  'repo-recall-update.service',
  'claude-remote-control.service',
  'claude-remote-control-restart.service',
  'game-*.service',
  'k3s.service',
];

test('names without a unit type are services, globs keep their type or match every type', () => {
  assert.deepEqual(resolveUnitName('k3s'), { unit: 'k3s.service' });
  assert.deepEqual(resolveUnitName('k3s.service'), { unit: 'k3s.service' });
  assert.deepEqual(resolveUnitName('backup.timer'), { unit: 'backup.timer' });
  assert.deepEqual(resolveUnitName('game-*'), { unit: 'game-*' });
  assert.deepEqual(resolveUnitName('foo bar.service'), {
    problem: 'contains a space; several units are separated by commas: foo,bar.service',
  });
  assert.match((resolveUnitName('a;b') as { problem: string }).problem, /contains ";", which systemd does not allow/);
  assert.deepEqual(resolveUnitName('a\tb'), { problem: 'contains a control character' });
});

test('every bad name in one error', () => {
  assert.throws(
    () => resolveUnitNames(['ok', 'foo bar.service', 'x;y', 'fine.timer'], '--unit'),
    (e: Error) => /^--unit: 2 names are not unit names or globs: "foo bar\.service" contains a space.*; "x;y" contains ";"/.test(e.message),
  );
});

const seed = (name: string): string => readFileSync(new URL(`fixtures/seed-252/${name}`, import.meta.url), 'utf8');
// systemd 252's show for a unit it does not know (recorded: show-nonexistent-props.txt), once per name.
const notFound = stripHeader(seed('show-nonexistent-props.txt'))
  .split('\n')
  .filter((l) => l !== '' && !l.startsWith('#'))
  .join('\n');
const replay = createReplay({
  listUnits: seed('list-units-all-output-json.txt'),
  show: RESOLVED.filter((n) => !n.includes('*'))
    .map((n) => notFound.replace('Id=does-not-exist.service', `Id=${n}`))
    .join('\n\n'),
});
after(() => replay.remove());

test("the operators' allowlist pasted as is: list and --dry-run show the resolved names", async () => {
  const env = { SYSTEMD_HEARTBEAT_SYSTEMCTL: replay.systemctl };
  const list = await runCli(['list', '--unit', OPERATORS_LIST], env);
  assert.equal(list.code, 0, list.stderr);
  for (const name of RESOLVED.filter((n) => !n.includes('*')))
    assert.match(list.stdout, new RegExp(`^${name.replace(/[.*]/g, '\\$&')}\\s`, 'm'));
  const dry = await runCli(['--dry-run', '--format', 'json', '--unit', OPERATORS_LIST], env);
  assert.equal(dry.code, 0, dry.stderr);
  const show =
    replay
      .calls()
      .filter((c) => c.includes('show'))
      .at(-1) ?? [];
  for (const name of RESOLVED.filter((n) => !n.includes('*'))) assert.ok(show.includes(name), `show asked for ${name}: ${show.join(' ')}`);
  const bad = await runCli(['list', '--unit', 'foo bar.service,semi;colon.service,k3s'], env);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.match(bad.stderr, /2 names are not unit names or globs: "foo bar\.service" contains a space.*"semi;colon\.service" contains ";"/);
});
