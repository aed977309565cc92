/** The one flag parser of run, install and summary. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFlags, scopeOf } from '../src/args.ts';

const spec = {
  '--unit': { kind: 'list', aliases: ['-u'] },
  '--format': { kind: 'value' },
  '--user': { kind: 'switch' },
  '--system': { kind: 'switch' },
} as const;

test('values, lists, switches and positionals, in both spellings', () => {
  const parsed = parseFlags(['-u', 'a.service', '--unit=b.service', '--format', 'json', '--format=table', 'list', '--user'], spec, {
    positionals: ['list'],
    help: '--help',
  });
  assert.deepEqual(parsed.lists.get('--unit'), ['a.service', 'b.service']);
  assert.equal(parsed.values.get('--format'), 'table', 'the last value wins');
  assert.deepEqual(parsed.switches, ['--user']);
  assert.deepEqual(parsed.positionals, ['list']);
  assert.equal(scopeOf(parsed), 'user');
});

test('each misuse is one usage error naming the flag', () => {
  const parse = (argv: string[]) => parseFlags(argv, spec, { command: 'x', help: 'x --help' });
  assert.throws(() => parse(['--format']), /^HeartbeatError: x: --format needs a value$/);
  assert.throws(() => parse(['--user=yes']), /x: --user takes no value/);
  assert.throws(() => parse(['--bogus']), /x: unknown option --bogus \(see x --help\)/);
  assert.throws(() => parse(['stray']), /x: unknown argument "stray"/);
  assert.throws(() => scopeOf(parse(['--user', '--system']), 'x'), /x: --user and --system exclude each other/);
});
