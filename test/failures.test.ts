/** Failures, reloads and skipped starts: the pure accounting across ticks (state/failures.ts, state/timers.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accountFailures } from '../src/state/failures.ts';
import { accountTimers } from '../src/state/timers.ts';
import { toObservations } from '../src/metrics/observe.ts';
import type { JournalReading } from '../src/systemd/journal.ts';
import type { UnitStatus } from '../src/systemd/unit.ts';

const CLOCK = { monotonic: 1000, realtime: 1_795_000_000 };

function status(over: Partial<UnitStatus> = {}): UnitStatus {
  return {
    id: 'app.service',
    names: ['app.service'],
    loadState: 'loaded',
    activeState: 'active',
    subState: 'running',
    result: 'success',
    nRestarts: 0,
    execMainStatus: 0,
    execMainExitMonotonic: undefined,
    inactiveExitMonotonic: 900,
    activeExitMonotonic: undefined,
    invocationId: 'i1',
    timer: undefined,
    ...over,
  };
}

const reading = (over: Partial<JournalReading>): JournalReading => ({ readable: true, runs: [], capped: false, ...over });
const fail = (result: string, finishedAt: number, service = 'app.service') => ({ service, result, finishedAt });

test('failures from the journal: every entry once by result, the latest time; successes and other units aside', () => {
  const units = [{ name: 'app.service', status: status() }];
  let memory = accountFailures({}, units, reading({}), CLOCK);
  assert.deepEqual(memory['app.service'], { failures: {}, reloads: {} }, 'watched, nothing yet');
  memory = accountFailures(
    memory,
    units,
    reading({
      // A crash loop that Restart= recovered within the tick: show says running, the journal has all three.
      runs: [
        fail('exit-code', 1_794_999_990),
        fail('success', 1_794_999_991),
        fail('signal', 1_794_999_995),
        fail('exit-code', 1_794_999_993),
        fail('timeout', 1_794_999_999, 'other.service'),
      ],
      reloads: [
        { unit: 'app.service', result: 'failed', at: 1_794_999_996 },
        { unit: 'other.service', result: 'failed', at: 1_794_999_996 },
      ],
    }),
    CLOCK,
  );
  assert.deepEqual(memory['app.service'], {
    failures: { 'exit-code': 2, signal: 1 },
    reloads: { failed: 1 },
    lastFailure: 1_794_999_995,
    lastFailureResult: 'signal',
  });
  memory = accountFailures(memory, units, reading({ reloads: [{ unit: 'app.service', result: 'done', at: 1_795_000_000 }] }), CLOCK);
  assert.deepEqual(memory['app.service']?.failures, { 'exit-code': 2, signal: 1 }, 'kept across ticks');
  assert.deepEqual(memory['app.service']?.reloads, { failed: 1, done: 1 });
  assert.equal(memory['app.service']?.lastFailure, 1_794_999_995);
});

test('failures without the journal: one per failed run seen at a tick, dated from show; first sight counts nothing', () => {
  const unreadable = reading({ readable: false });
  const failed = (invocationId: string, inactiveEnterMonotonic: number) =>
    status({ activeState: 'failed', subState: 'failed', result: 'exit-code', invocationId, inactiveEnterMonotonic });
  let memory = accountFailures({}, [{ name: 'app.service', status: failed('i1', 990) }], unreadable, CLOCK);
  assert.deepEqual(memory['app.service']?.failures, {}, 'a failure from before the exporter is not counted');
  memory = accountFailures(memory, [{ name: 'app.service', status: failed('i1', 990) }], unreadable, CLOCK);
  assert.deepEqual(memory['app.service']?.failures, {}, 'the same failed run once');
  memory = accountFailures(memory, [{ name: 'app.service', status: failed('i2', 995) }], unreadable, CLOCK);
  assert.deepEqual(memory['app.service']?.failures, { 'exit-code': 1 });
  assert.equal(memory['app.service']?.lastFailure, 1_795_000_000 - 5);
  memory = accountFailures(memory, [{ name: 'app.service', status: status({ invocationId: 'i3' }) }], unreadable, CLOCK);
  assert.deepEqual(memory['app.service']?.failures, { 'exit-code': 1 }, 'a healthy run counts nothing');
});

test('a timer job skipped by its condition: runs_total{result="skipped"} grows, last result skipped, last success stays', () => {
  const job = status({ id: 'pull.service', names: ['pull.service'], activeState: 'inactive', subState: 'dead', invocationId: undefined });
  const timers = [
    { name: 'pull.timer', status: status({ id: 'pull.timer', names: ['pull.timer'] }), service: 'pull.service', serviceStatus: job },
  ];
  let memory = accountTimers({}, timers, reading({ runs: [fail('success', 1_794_999_000, 'pull.service')] }), CLOCK);
  const skipped = (at: number) => ({ unit: 'pull.service', result: 'skipped', at });
  memory = accountTimers(memory, timers, reading({ skipped: [skipped(1_794_999_500), skipped(1_794_999_800)] }), CLOCK);
  assert.deepEqual(memory['pull.timer']?.runs, { success: 1, skipped: 2 });
  assert.equal(memory['pull.timer']?.lastResult, 'skipped');
  assert.equal(memory['pull.timer']?.lastSuccess, 1_794_999_000);
});

test('observations: failures, last failure and reloads from the state; reload_failed and condition_met from show', () => {
  const snapshot = {
    host: 'h',
    clock: CLOCK,
    units: [{ name: 'app.service', status: status({ reloadResult: 'exit-code', conditionMet: false }) }],
    failedElsewhere: [],
    failedCount: 0,
    collectSeconds: 0.01,
    errors: 0,
  };
  const remembered = {
    starts: {},
    spooledRuns: 0,
    spoolDropped: 0,
    failures: { 'app.service': { failures: { 'exit-code': 2 }, reloads: { failed: 1 }, lastFailure: 1_794_999_995 } },
  };
  const picked = toObservations(snapshot, remembered)
    .filter((o) => /failure|reload|condition/.test(o.name))
    .map((o) => `${o.name}${JSON.stringify(o.labels)} ${o.value}`);
  assert.deepEqual(picked, [
    'systemd_unit_condition_met{"unit":"app.service","host":"h"} 0',
    'systemd_unit_failures_total{"unit":"app.service","result":"exit-code","host":"h"} 2',
    'systemd_unit_last_failure_timestamp_seconds{"unit":"app.service","host":"h"} 1794999995',
    'systemd_unit_reloads_total{"unit":"app.service","result":"failed","host":"h"} 1',
    'systemd_unit_reload_failed{"unit":"app.service","host":"h"} 1',
  ]);
});
