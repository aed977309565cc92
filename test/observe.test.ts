/**
 * Golden observations from recorded real output. Regenerate with UPDATE_GOLDEN=1 and
 * review the diff.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { METRICS } from '../src/metrics/definitions.ts';
import { secondsSinceActive, toObservations } from '../src/metrics/observe.ts';
import { collect, type Clock } from '../src/systemd/collect.ts';
import { toUnitStatus, type UnitStatus } from '../src/systemd/unit.ts';
import { parseShowOutput } from '../src/systemd/parse.ts';

const seed = (name: string): string => readFileSync(new URL(`fixtures/seed-252/${name}`, import.meta.url), 'utf8');
const goldenUrl = new URL('fixtures/golden/seed-252-observations.json', import.meta.url);

// The capture's own clocks (meta.txt): realtime_us=1795369394287672; CLOCK_MONOTONIC a few
// ms after the last state change it recorded (StateChangeTimestampMonotonic=17136665599).
const CLOCK: Clock = { monotonic: 17136.7, realtime: 1795369394.287672 };

async function collectSeed(patterns: string[]): Promise<ReturnType<typeof collect>> {
  const calls: string[][] = [];
  const result = collect({
    patterns,
    host: 'kai-server',
    readClock: () => CLOCK,
    run: async (args) => {
      calls.push([...args]);
      if (args[0] === 'list-units') return seed('list-units-all-output-json.txt');
      if (args[0] === 'show') return seed('show-props-all-timestamp-unix.txt');
      throw new Error(`unexpected systemctl ${args.join(' ')}`);
    },
  });
  const collection = await result;
  assert.equal(calls.length, 2, 'two systemctl calls per tick');
  assert.ok(calls[1]?.includes('--'), 'unit names come after --');
  return collection;
}

test('observations from recorded output match the golden file', async () => {
  const collection = await collectSeed(['hb-ok.service', 'hb-crashloop.service', 'hb-oneshot.service', 'hb-*.timer', 'hb-failed.service']);
  assert.deepEqual(collection.problems, []);
  const observations = toObservations(collection.snapshot).map((o) => ({
    ...o,
    value: Math.round(o.value * 1e6) / 1e6,
  }));
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(goldenUrl, `${JSON.stringify(observations, null, 1)}\n`);
  const golden = JSON.parse(readFileSync(goldenUrl, 'utf8'));
  assert.deepEqual(observations, golden);
  for (const o of observations)
    assert.ok(
      METRICS.some((m) => m.name === o.name),
      o.name,
    );
});

test('a failed unit outside the allowlist still gets its failed series with Result', async () => {
  const collection = await collectSeed(['hb-ok.service']);
  const failed = toObservations(collection.snapshot).filter((o) => o.name === 'systemd_unit_failed' && o.value === 1);
  assert.deepEqual(failed, [
    { name: 'systemd_unit_failed', labels: { unit: 'hb-failed.service', result: 'exit-code', host: 'kai-server' }, value: 1 },
  ]);
});

test('seconds since active', () => {
  const statuses = new Map(
    parseShowOutput(seed('show-props-all-timestamp-unix.txt')).map((r) => {
      const s = toUnitStatus(r, CLOCK.realtime * 1000);
      return [s.id, s] as const;
    }),
  );
  const age = (id: string): number | undefined => {
    const s = statuses.get(id);
    assert.ok(s, id);
    const v = secondsSinceActive(s, CLOCK);
    return v === undefined ? undefined : Math.round(v * 1000) / 1000;
  };
  assert.equal(age('hb-ok.service'), 0, 'active');
  assert.equal(age('hb-oneshot.service'), 0.035, 'a oneshot: since its last run ended (ExecMainExit/InactiveExit)');
  assert.equal(age('hb-failed.service'), Math.round((17136.7 - 17131.472939) * 1000) / 1000, 'since it stopped being active');
  assert.equal(age('hb-tick.timer'), Math.round((17136.7 - 17136.644591) * 1000) / 1000, 'a timer: since its last trigger');
  assert.equal(age('hb-stale.timer'), Math.round((1795369394.287672 - 1795110189) * 1000) / 1000, 'triggered before boot: wall clock');
  assert.equal(age('hb-stale.service'), undefined, 'never ran: no age');
  const later = secondsSinceActive(statuses.get('hb-failed.service') as UnitStatus, {
    monotonic: CLOCK.monotonic + 10,
    realtime: CLOCK.realtime - 3600,
  });
  assert.equal(
    Math.round((later as number) * 1000) / 1000,
    Math.round((17146.7 - 17131.472939) * 1000) / 1000,
    'a wall-clock step back changes nothing',
  );
});
