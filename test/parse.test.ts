import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { firstValue, parseListUnitsJson, parseRealtime, parseShowOutput, parseTimerEntry, parseTimespan } from '../src/systemd/parse.ts';
import { toUnitStatus } from '../src/systemd/unit.ts';

const seed = (name: string): string => readFileSync(new URL(`fixtures/seed-252/${name}`, import.meta.url), 'utf8');
// Collection time of the seed capture (meta.txt: realtime_us=1795369394287672).
const CAPTURED_MS = 1795369394287;

test('show output splits into one record per unit, in the order asked', () => {
  const records = parseShowOutput(seed('show-props-all-timestamp-unix.txt'));
  assert.deepEqual(
    records.map((r) => firstValue(r, 'Id')),
    [
      'hb-ok.service',
      'hb-crashloop.service',
      'hb-oneshot.service',
      'hb-tick.timer',
      'hb-failed.service',
      'hb-stale.service',
      'hb-stale.timer',
    ],
  );
  const tick = records[3];
  assert.ok(tick);
  assert.equal(tick.get('TimersMonotonic')?.length, 2, 'repeated keys keep every value');
  assert.equal(firstValue(tick, 'NextElapseUSecRealtime'), '', 'an empty value is kept as empty');
});

test('timespans as systemd prints them', () => {
  assert.equal(parseTimespan('4h 45min 38.665139s'), 4 * 3600 + 45 * 60 + 38.665139);
  assert.equal(parseTimespan('2s'), 2);
  assert.equal(parseTimespan('100ms'), 0.1);
  assert.equal(parseTimespan('1month 2w'), 2_629_800 + 2 * 604_800);
  assert.equal(parseTimespan('1y 1d'), 31_557_600 + 86_400);
  assert.equal(parseTimespan('250us'), 0.00025);
  assert.equal(parseTimespan('0'), 0);
  assert.equal(parseTimespan('infinity'), undefined);
  assert.equal(parseTimespan(''), undefined);
  assert.equal(parseTimespan('soon'), undefined);
  assert.equal(parseTimespan('3 apples'), undefined);
});

test('realtime timestamps: @unix and the UTC text that --timestamp=unix does not convert', () => {
  assert.equal(parseRealtime('@1795369389'), 1795369389);
  assert.equal(parseRealtime('Thu 2026-11-19 17:43:09 UTC'), Date.UTC(2026, 10, 19, 17, 43, 9) / 1000);
  assert.equal(parseRealtime('Thu 2099-01-01 00:00:00 UTC'), 4070908800);
  assert.equal(parseRealtime(''), undefined);
  assert.equal(parseRealtime('n/a'), undefined);
  assert.equal(parseRealtime('[not set]'), undefined);
  assert.equal(parseRealtime('Thu 2026-11-19 17:43:09 CET'), undefined, 'only UTC: systemctl runs with TZ=UTC');
});

test('timer entries', () => {
  assert.deepEqual(parseTimerEntry('{ OnUnitActiveUSec=2s ; next_elapse=4h 45min 38.665139s }'), {
    base: 'OnUnitActiveUSec',
    value: '2s',
    nextElapse: '4h 45min 38.665139s',
  });
  assert.deepEqual(parseTimerEntry('{ OnCalendar=2099-01-01 00:00:00 UTC ; next_elapse=@4070908800 }'), {
    base: 'OnCalendar',
    value: '2099-01-01 00:00:00 UTC',
    nextElapse: '@4070908800',
  });
  assert.equal(parseTimerEntry('OnCalendar=daily'), undefined);
});

test('list-units --output=json', () => {
  const failed = parseListUnitsJson(seed('list-units-failed-output-json.txt'));
  assert.deepEqual(failed, [{ unit: 'hb-failed.service', load: 'loaded', active: 'failed', sub: 'failed' }]);
  const all = parseListUnitsJson(seed('list-units-all-output-json.txt'));
  assert.ok(all && all.length > 10);
  assert.ok(all.some((u) => u.unit === 'systemd-journald-audit.socket' && u.load === 'masked'));
  assert.equal(parseListUnitsJson('not json'), undefined);
  assert.equal(parseListUnitsJson('{"unit":"x"}'), undefined);
  assert.deepEqual(parseListUnitsJson('[1, null, {"unit": 3}, {"unit":"a.service"}]'), [
    { unit: 'a.service', load: '', active: '', sub: '' },
  ]);
});

test('unit statuses from recorded output', () => {
  const byId = new Map(
    parseShowOutput(seed('show-props-all-timestamp-unix.txt')).map((r) => {
      const s = toUnitStatus(r, CAPTURED_MS);
      return [s.id, s] as const;
    }),
  );
  const crash = byId.get('hb-crashloop.service');
  assert.equal(crash?.nRestarts, 4);
  assert.equal(crash?.activeExitMonotonic, 17135.483202);
  const failed = byId.get('hb-failed.service');
  assert.equal(failed?.activeState, 'failed');
  assert.equal(failed?.result, 'exit-code');
  assert.equal(failed?.execMainStatus, 3);
  const tick = byId.get('hb-tick.timer');
  assert.equal(tick?.timer?.intervalSeconds, 2, 'OnUnitActiveSec=2s repeats; OnActiveSec=1s does not');
  assert.equal(tick?.timer?.lastTriggerMonotonic, 4 * 3600 + 45 * 60 + 36.644591);
  assert.equal(tick?.timer?.unit, 'hb-oneshot.service');
  assert.equal(tick?.nRestarts, undefined, 'timers have no NRestarts');
  const stale = byId.get('hb-stale.timer');
  assert.equal(stale?.timer?.lastTriggerMonotonic, undefined, 'triggered before this boot');
  assert.equal(stale?.timer?.lastTriggerRealtime, Date.UTC(2026, 10, 19, 17, 43, 9) / 1000);
  assert.equal(stale?.timer?.nextElapseRealtime, 4070908800);
  assert.equal(stale?.timer?.intervalSeconds, undefined, 'a one-off calendar date does not repeat');
  const oneshot = byId.get('hb-oneshot.service');
  assert.equal(oneshot?.execMainExitMonotonic, 17136.665328);
});

test('a unit that does not exist is reported, not dropped', () => {
  const [record] = parseShowOutput(seed('show-nonexistent-props.txt'));
  assert.ok(record);
  const status = toUnitStatus(record, CAPTURED_MS);
  assert.equal(status.id, 'does-not-exist.service');
  assert.equal(status.loadState, 'not-found');
});

test('odd input never throws', () => {
  for (const text of ['', '\n\n\n', '=x', 'no separator', 'A=1\r\nB=2\r\n\r\nA=3', '\u0000\u0001=\u0002', `Id=${'x'.repeat(100_000)}`]) {
    const records = parseShowOutput(text);
    for (const r of records) toUnitStatus(r, CAPTURED_MS);
  }
  assert.deepEqual(
    parseShowOutput('A=1\r\nB=2\r\n\r\nA=3').map((r) => Object.fromEntries(r)),
    [{ A: ['1'], B: ['2'] }, { A: ['3'] }],
  );
});
