import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calendarIntervalSeconds, nextElapse, parseCalendarSpec } from '../src/systemd/calendar.ts';

// Specs as systemd 252 normalizes them in `systemctl show -p TimersCalendar`
// (`systemd-analyze calendar daily` prints `*-*-* 00:00:00`, and so on).
const NOW = Date.parse('2026-11-24T10:17:03Z'); // a Tuesday

const cases: Array<[string, number | undefined]> = [
  ['*-*-* 00:00:00', 86_400], // daily
  ['*-*-* *:00:00', 3_600], // hourly
  ['*-*-* *:00/5:00', 300],
  ['Mon *-*-* 00:00:00', 604_800], // weekly
  ['Mon..Fri *-*-* 09:00:00', 259_200], // Friday 09:00 -> Monday 09:00
  ['*-*-01 00:00:00', 31 * 86_400], // monthly: the longest month wins
  ['*-*-* 06,18:30:00 Europe/Berlin', 43_200], // a zone is ignored, the gap stays
  ['*-*~01 23:00:00', 31 * 86_400], // last day of every month
  ['2099-01-01 00:00:00 UTC', undefined], // one-off, five years away or more
  ['2027-03-01 00:00:00', undefined], // one-off within reach: fires once
  ['not a calendar', undefined],
  ['*-*-* 25:00:00', undefined],
];

for (const [spec, expected] of cases) {
  test(`calendar interval of "${spec}" is ${expected}`, () => {
    assert.equal(calendarIntervalSeconds(spec, NOW), expected);
  });
}

test('nextElapse finds the first elapse strictly after the given time', () => {
  const spec = parseCalendarSpec('Mon..Fri *-*-* 09:00:00');
  assert.ok(spec);
  assert.equal(new Date(nextElapse(spec, NOW) ?? 0).toISOString(), '2026-11-25T09:00:00.000Z');
  const atNine = Date.parse('2026-11-27T09:00:00Z'); // Friday, exactly at an elapse
  assert.equal(new Date(nextElapse(spec, atNine) ?? 0).toISOString(), '2026-11-30T09:00:00.000Z');
});

test('leap day repeats every four years, found within the search horizon', () => {
  assert.equal(calendarIntervalSeconds('*-02-29 00:00:00', NOW, 2), 4 * 365 * 86_400 + 86_400);
});
