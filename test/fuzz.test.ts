/**
 * Hostile input: whatever systemctl prints, the pure pipeline (list-units JSON and show text
 * -> unit statuses -> observations) neither throws nor produces a value that is not a finite
 * number. Cases are mutations of real recorded systemd 252 output plus raw garbage, from a
 * fixed seed. Run longer: FUZZ_CASES=200000 FUZZ_SEED=7 npm test -- test/fuzz.test.ts
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { METRIC_NAMES } from '../src/metrics/definitions.ts';
import { toObservations } from '../src/metrics/observe.ts';
import { calendarIntervalSeconds } from '../src/systemd/calendar.ts';
import { collect } from '../src/systemd/collect.ts';
import { stripHeader } from './support/replay.ts';

const CASES = Number(process.env.FUZZ_CASES ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const seed = (name: string): string => stripHeader(readFileSync(new URL(`fixtures/seed-252/${name}`, import.meta.url), 'utf8'));
const SHOW = [
  seed('show-props-all-timestamp-unix.txt'),
  seed('show-props-all.txt'),
  seed('show-full-hb-stale.timer.txt'),
  seed('show-nonexistent-props.txt'),
];
const LIST = [seed('list-units-all-output-json.txt'), seed('list-units-failed-output-json.txt')];

/** mulberry32: small, fast, reproducible. */
function prng(seedValue: number): () => number {
  let a = seedValue >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOSTILE_VALUES = [
  '',
  '[not set]',
  'infinity',
  '-1',
  '18446744073709551615',
  '9'.repeat(400),
  '@',
  '@-5',
  '@1e308',
  'NaN',
  '0x10',
  '1y 2month 3w 4d 5h 6min 7.5s 8ms 9us',
  '4h 43min 14.4s',
  'Thu 2099-01-01 00:00:00 UTC',
  'Mon 1970-13-45 99:99:99 XYZ',
  '{ OnCalendar=*-*-* *:*:* ; next_elapse=@1 }',
  '{ OnCalendar=Mon..Sun *-02-30 00:00:00 ; next_elapse=n/a }',
  '{ OnUnitActiveUSec=0 ; next_elapse=0 }',
  '{ OnUnitActiveUSec=2s',
  '{ ; ; ; }',
  'a=b=c',
  '\u0000\u0001\u00ff',
  '\ud800',
  'x'.repeat(100_000),
];
const KEYS = [
  'Id',
  'Names',
  'LoadState',
  'ActiveState',
  'SubState',
  'Result',
  'NRestarts',
  'ExecMainStatus',
  'InvocationID',
  'TimersCalendar',
  'TimersMonotonic',
  'LastTriggerUSec',
  'LastTriggerUSecMonotonic',
  'InactiveExitTimestampMonotonic',
  'ActiveExitTimestampMonotonic',
  'Unit',
];

function mutate(text: string, random: () => number): string {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  let lines = text.split('\n');
  const rounds = 1 + Math.floor(random() * 6);
  for (let r = 0; r < rounds; r++) {
    const i = Math.floor(random() * Math.max(1, lines.length));
    switch (Math.floor(random() * 9)) {
      case 0: // a value replaced by something hostile
        lines[i] = (lines[i] ?? '').replace(/=.*/, `=${pick(HOSTILE_VALUES)}`);
        break;
      case 1: // a duplicated key with another value
        lines.splice(i, 0, `${pick(KEYS)}=${pick(HOSTILE_VALUES)}`);
        break;
      case 2: // missing separator
        lines[i] = (lines[i] ?? '').replace('=', '');
        break;
      case 3: // blank lines removed or added: blocks merge or split
        lines = random() < 0.5 ? lines.filter((l) => l !== '') : lines.flatMap((l) => (random() < 0.1 ? [l, ''] : [l]));
        break;
      case 4: // truncated anywhere
        return lines.join('\n').slice(0, Math.floor(random() * text.length));
      case 5: // binary garbage spliced in
        lines[i] = Buffer.from(Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256))).toString('latin1');
        break;
      case 6: // lines dropped
        lines.splice(i, 1 + Math.floor(random() * 5));
        break;
      case 7: // CRLF and stray whitespace
        lines[i] = ` ${lines[i] ?? ''}\r`;
        break;
      default: // a line repeated many times
        lines.splice(i, 0, ...Array.from({ length: Math.floor(random() * 50) }, () => lines[i] ?? ''));
    }
  }
  return lines.join('\n');
}

function mutateJson(text: string, random: () => number): string {
  const choice = Math.floor(random() * 6);
  if (choice === 0) return text.slice(0, Math.floor(random() * text.length));
  if (choice === 1) return text.replace(/"(active|load|sub|unit)":"[^"]*"/g, (m) => (random() < 0.3 ? m.replace(/:"[^"]*"/, ':null') : m));
  if (choice === 2) return JSON.stringify([{ unit: 5 }, null, 'x', { unit: 'a.service', active: 'failed' }, []]);
  if (choice === 3) return JSON.stringify({ not: 'an array' });
  if (choice === 4) return Buffer.from(Array.from({ length: 200 }, () => Math.floor(random() * 256))).toString('latin1');
  return text.replace(/"failed"|"active"/g, () => (random() < 0.5 ? '"failed"' : '"active"'));
}

test(`the parse -> observe pipeline survives ${CASES} hostile systemctl outputs (seed ${SEED})`, async () => {
  const random = prng(SEED);
  const patterns = ['hb-ok.service', 'hb-*.service', 'hb-stale.timer', 'hb-tick.timer', 'nope.service'];
  for (let n = 0; n < CASES; n++) {
    const show = mutate(SHOW[n % SHOW.length] as string, random);
    const list = mutateJson(LIST[n % LIST.length] as string, random);
    const context = `case ${n} (FUZZ_SEED=${SEED})`;
    let collection: Awaited<ReturnType<typeof collect>> | undefined;
    try {
      collection = await collect({
        patterns,
        host: 'fuzz',
        run: async (args) => (args[0] === 'list-units' ? list : show),
        readClock: () => ({ monotonic: 17_000 + random(), realtime: 1_795_000_000 + random() }),
      });
    } catch (error) {
      assert.fail(`${context}: collect threw ${String(error)}`);
    }
    if (!collection) return;
    const observations = toObservations(collection.snapshot, { starts: {}, spooledRuns: 0, spoolDropped: 0 });
    for (const o of observations) {
      assert.ok(Number.isFinite(o.value), `${context}: ${o.name} ${JSON.stringify(o.labels)} = ${o.value}`);
      assert.ok(METRIC_NAMES.has(o.name), `${context}: ${o.name} is defined`);
      for (const v of Object.values(o.labels)) assert.equal(typeof v, 'string', context);
    }
  }
});

test('calendar specs from garbage never throw and give a positive interval or none', () => {
  const random = prng(SEED + 1);
  const alphabet = '*-:./~,0123456789 MonTueFriUTC';
  for (let n = 0; n < Math.min(CASES, 5000); n++) {
    const spec = Array.from({ length: Math.floor(random() * 30) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    const interval = calendarIntervalSeconds(spec, 1_795_000_000_000);
    assert.ok(interval === undefined || (Number.isFinite(interval) && interval > 0), `${JSON.stringify(spec)} -> ${interval}`);
  }
});
