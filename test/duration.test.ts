/** One duration grammar for every flag, variable and config key that takes a duration. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTimeout } from '../src/config.ts';
import { parseInterval } from '../src/install/command.ts';
import { parseSummaryArgs } from '../src/summary/args.ts';
import { durationMs, formatDuration, formatDurationMs } from '../src/duration.ts';

test('the grammar: systemd spellings, compounds, bare numbers in the setting unit', () => {
  const cases: Array<[string, number | undefined]> = [
    ['30s', 30_000],
    ['2500ms', 2500],
    ['5min', 300_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1h 30min', 5_400_000],
    ['1.5s', 1500],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    ['90', 90_000],
    [' 10 s ', 10_000],
    ['', undefined],
    ['5x', undefined],
    ['s', undefined],
    ['1h30', undefined],
    ['-5s', undefined],
  ];
  for (const [text, ms] of cases) assert.equal(durationMs(text), ms, text);
  assert.equal(durationMs('250', 'ms'), 250, 'a bare number in milliseconds where the setting says so');
});

test('every duration setting reads the same text the same way', () => {
  // 5min and 1h30m were refused by one flag and accepted by another before.
  assert.equal(parseInterval('5min'), 300);
  assert.equal(parseInterval('1h30m'), 5400);
  assert.equal(parseSummaryArgs(['--interval', '5min']).intervalSeconds, 300);
  assert.equal(parseSummaryArgs(['--since', '1h30m']).sinceSeconds, 5400);
  assert.equal(parseSummaryArgs(['--timeout', '2500ms']).timeoutMs, 2500);
  assert.equal(parseTimeout('2500ms', '--timeout'), 2500);
  assert.equal(parseTimeout('5', '--timeout'), 5000);
  assert.equal(parseTimeout('5000', 'OTEL_EXPORTER_OTLP_TIMEOUT', 'ms'), 5000);
});

test('bounds and whole seconds are the setting own, said in one message shape', () => {
  assert.throws(() => parseInterval('1.5s'), /--interval: "1.5s" must be a whole number of seconds from 1s to 1d/);
  assert.throws(() => parseInterval('2d'), /from 1s to 1d/);
  assert.throws(() => parseTimeout('30s', '--timeout'), /--timeout: "30s" must be a duration from 100ms to 14s/);
  assert.throws(() => parseTimeout('5', 'OTEL_EXPORTER_OTLP_TIMEOUT', 'ms'), /a bare number is milliseconds/);
  assert.throws(() => parseSummaryArgs(['--since', '30s']), /--since: "30s" must be a whole number of seconds from 1m to 31d/);
});

test('durations as people read them', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(45), '45s');
  assert.equal(formatDuration(5400), '1h 30m');
  assert.equal(formatDuration(3 * 86_400 + 4 * 3600 + 59), '3d 4h');
  assert.equal(formatDurationMs(250), '250ms');
  assert.equal(formatDurationMs(25_000), '25s');
});
