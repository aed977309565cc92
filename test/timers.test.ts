/** Timer jobs: journal parsing and the pure accounting of runs, last success and last result. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  FAILURE_MESSAGE_ID,
  RELOAD_DONE_MESSAGE_ID,
  START_DONE_MESSAGE_ID,
  SUCCESS_MESSAGE_ID,
  journalArgs,
  parseJournalOutput,
} from '../src/systemd/journal.ts';
import { accountTimers } from '../src/state/timers.ts';
import { nextElapseTimestamp } from '../src/metrics/observe.ts';
import { type WatchedTimer, collect } from '../src/systemd/collect.ts';
import type { UnitStatus } from '../src/systemd/unit.ts';

/** A journalctl -o json line; `at` and `monotonic` in microseconds (no __MONOTONIC_TIMESTAMP unless given). */
const entry = (cursor: string, unit: string, id: string, result?: string, at = 1_795_000_000_000_000, monotonic?: number) =>
  JSON.stringify({
    __CURSOR: cursor,
    __REALTIME_TIMESTAMP: String(at),
    ...(monotonic === undefined ? {} : { __MONOTONIC_TIMESTAMP: String(monotonic) }),
    MESSAGE_ID: id,
    UNIT: unit,
    ...(result ? { UNIT_RESULT: result } : {}),
  });

test('journalctl arguments: PID 1, both message ids, the services, after the cursor or since the first run', () => {
  const args = journalArgs(['a.service', 'b.service'], { cursor: 's=abc' });
  assert.deepEqual(args.slice(-8), [
    '--after-cursor=s=abc',
    '_PID=1',
    `MESSAGE_ID=${SUCCESS_MESSAGE_ID}`,
    `MESSAGE_ID=${FAILURE_MESSAGE_ID}`,
    `MESSAGE_ID=${RELOAD_DONE_MESSAGE_ID}`,
    `MESSAGE_ID=${START_DONE_MESSAGE_ID}`,
    'UNIT=a.service',
    'UNIT=b.service',
  ]);
  assert.ok(journalArgs(['a.service'], { sinceSeconds: 1700.9 }).includes('--since=@1700.900000'));
  assert.ok(args.includes('json') && args.includes('-n'), 'bounded JSON output');
});

test('journal output: runs by result, the last cursor; garbage lines skipped', () => {
  const stdout = [
    entry('c1', 'job.service', SUCCESS_MESSAGE_ID, undefined, 1_000_000_000),
    'not json',
    entry('c2', 'job.service', FAILURE_MESSAGE_ID, 'exit-code', 2_000_000_000),
    entry('c3', 'job.service', 'ffffffffffffffffffffffffffffffff'),
    '{"__CURSOR": 5}',
    entry('c4', 'other.service', FAILURE_MESSAGE_ID, 'timeout', 3_000_000_000),
  ].join('\n');
  assert.deepEqual(parseJournalOutput(stdout, ''), {
    readable: true,
    cursor: 'c4',
    capped: false,
    runs: [
      { service: 'job.service', result: 'success', finishedAt: 1000 },
      { service: 'job.service', result: 'exit-code', finishedAt: 2000 },
      { service: 'other.service', result: 'timeout', finishedAt: 3000 },
    ],
    reloads: [],
    skipped: [],
    // c3's message is none of ours, but PID 1 journaled it for job.service: every unit named is kept.
    units: ['job.service', 'other.service'],
  });
});

test('journal output: finished reload jobs by JOB_RESULT, starts skipped by a condition; started jobs and other job types aside', () => {
  const job = (cursor: string, unit: string, id: string, fields: Record<string, string>, at: number) =>
    JSON.stringify({ __CURSOR: cursor, __REALTIME_TIMESTAMP: String(at), MESSAGE_ID: id, UNIT: unit, ...fields });
  // As systemd 252 journals them (../shared/notes/systemd-252-journal.md).
  const stdout = [
    job(
      'c1',
      'caddy.service',
      RELOAD_DONE_MESSAGE_ID,
      { JOB_TYPE: 'reload', JOB_RESULT: 'failed', MESSAGE: 'Reload failed for caddy.service.' },
      1e9,
    ),
    job('c2', 'caddy.service', RELOAD_DONE_MESSAGE_ID, { JOB_TYPE: 'reload', JOB_RESULT: 'done', MESSAGE: 'Reloaded caddy.service.' }, 2e9),
    job('c3', 'pull.service', START_DONE_MESSAGE_ID, { JOB_TYPE: 'start', JOB_RESULT: 'done', MESSAGE: 'Started pull.service.' }, 3e9),
    job(
      'c4',
      'pull.service',
      START_DONE_MESSAGE_ID,
      {
        JOB_TYPE: 'start',
        JOB_RESULT: 'done',
        MESSAGE: 'pull.service was skipped because of an unmet condition check (ConditionPathExists=/srv/repo).',
      },
      4e9,
    ),
    job('c5', 'caddy.service', RELOAD_DONE_MESSAGE_ID, { JOB_TYPE: 'restart', JOB_RESULT: 'done' }, 5e9),
  ].join('\n');
  const reading = parseJournalOutput(stdout, '');
  assert.deepEqual(reading.reloads, [
    { unit: 'caddy.service', result: 'failed', at: 1000 },
    { unit: 'caddy.service', result: 'done', at: 2000 },
  ]);
  assert.deepEqual(reading.skipped, [{ unit: 'pull.service', result: 'skipped', at: 4000 }]);
  assert.deepEqual(reading.runs, []);
  assert.equal(reading.cursor, 'c5');
});

test('journal not readable: the hint on stderr, or a failing journalctl', () => {
  const hint =
    "Hint: You are currently not seeing messages from other users and the system.\n      Users in groups 'adm', 'systemd-journal' can see all messages.";
  const denied = parseJournalOutput('', hint);
  assert.equal(denied.readable, false);
  assert.match(denied.problem ?? '', /not seeing messages from other users/);
  assert.deepEqual(parseJournalOutput('', 'Failed to seek to cursor: Invalid argument\n', 1), {
    readable: false,
    problem: 'Failed to seek to cursor: Invalid argument',
    runs: [],
    capped: false,
  });
});

function service(over: Partial<UnitStatus>): UnitStatus {
  return {
    id: 'job.service',
    names: ['job.service'],
    loadState: 'loaded',
    activeState: 'inactive',
    subState: 'dead',
    result: 'success',
    nRestarts: 0,
    execMainStatus: 0,
    execMainExitMonotonic: undefined,
    inactiveExitMonotonic: undefined,
    activeExitMonotonic: undefined,
    invocationId: 'i1',
    timer: undefined,
    ...over,
  };
}
const timer = (svc: UnitStatus | undefined): WatchedTimer => ({
  name: 'job.timer',
  status: service({ id: 'job.timer' }),
  service: 'job.service',
  serviceStatus: svc,
});
const CLOCK = { monotonic: 1000, realtime: 1_795_000_000 };

test('runs from the journal: every run once, across ticks; last success kept when runs fail', () => {
  const journal = (runs: Array<[string, number]>) => ({
    readable: true,
    capped: false,
    runs: runs.map(([result, finishedAt]) => ({ service: 'job.service', result, finishedAt })),
  });
  let memory = accountTimers({}, [timer(service({ inactiveEnterMonotonic: 990 }))], journal([]), CLOCK);
  assert.deepEqual(memory['job.timer'], {
    service: 'job.service',
    runs: { success: 0 },
    lastSuccess: 1_795_000_000 - 10,
    lastResult: 'success',
    lastResultAt: 1_795_000_000 - 10,
    countedInvocation: 'i1',
  });
  memory = accountTimers(
    memory,
    [timer(service({ result: 'exit-code', invocationId: 'i4', execMainStatus: 1 }))],
    journal([
      ['success', 1_795_000_001],
      ['exit-code', 1_795_000_003],
      ['exit-code', 1_795_000_005],
    ]),
    CLOCK,
  );
  assert.deepEqual(memory['job.timer']?.runs, { success: 1, 'exit-code': 2 });
  assert.equal(memory['job.timer']?.lastSuccess, 1_795_000_001, 'the last good run, from the journal');
  assert.equal(memory['job.timer']?.lastResult, 'exit-code');
  memory = accountTimers(memory, [timer(service({ result: 'exit-code', invocationId: 'i4' }))], journal([]), CLOCK);
  assert.deepEqual(memory['job.timer']?.runs, { success: 1, 'exit-code': 2 }, 'no run, no count');
  assert.equal(memory['job.timer']?.lastSuccess, 1_795_000_001, 'stays at the last good run');
});

test('last result: the latest finished run from the journal or show, whichever finished last; a job running at every tick still gets one', () => {
  const journal = (runs: Array<[string, number]>) => ({
    readable: true,
    capped: false,
    runs: runs.map(([result, finishedAt]) => ({ service: 'job.service', result, finishedAt })),
  });
  const running = timer(service({ activeState: 'activating', subState: 'start', invocationId: 'i9', result: 'success' }));
  // Tick 1: the job is running; the journal has its previous run, a failure.
  let memory = accountTimers({}, [running], journal([['exit-code', 1_794_999_990]]), CLOCK);
  assert.equal(memory['job.timer']?.lastResult, 'exit-code');
  // Tick 2: running again (a job longer than the tick gap); in between, a run succeeded.
  memory = accountTimers(memory, [running], journal([['success', 1_794_999_995]]), CLOCK);
  assert.equal(memory['job.timer']?.lastResult, 'success', 'not the stale exit-code');
  assert.equal(memory['job.timer']?.lastSuccess, 1_794_999_995);
  // Tick 3: running, nothing new finished: the result stays.
  memory = accountTimers(memory, [running], journal([]), CLOCK);
  assert.equal(memory['job.timer']?.lastResult, 'success');
  // Results alternate within one tick: the latest wins, whatever the order of entries.
  memory = accountTimers(
    memory,
    [running],
    journal([
      ['success', 1_794_999_997],
      ['exit-code', 1_794_999_999],
      ['success', 1_794_999_998],
    ]),
    CLOCK,
  );
  assert.equal(memory['job.timer']?.lastResult, 'exit-code');
  // show idle with the run the journal also saw finish: the same run, its result.
  memory = accountTimers(
    memory,
    [timer(service({ result: 'success', invocationId: 'i9', inactiveEnterMonotonic: 999.5 }))],
    journal([['success', 1_794_999_999.5]]),
    CLOCK,
  );
  assert.equal(memory['job.timer']?.lastResult, 'success');
});

test('a result named like an Object property is counted as itself', () => {
  const memory = accountTimers(
    {},
    [timer(service({ activeState: 'activating', subState: 'start', invocationId: 'i2' }))],
    { readable: true, capped: false, runs: [{ service: 'job.service', result: 'constructor', finishedAt: 1_794_999_999 }] },
    CLOCK,
  );
  assert.deepEqual(memory['job.timer']?.runs, { success: 0, constructor: 1 });
});

test('without the journal: one run per new finished invocation; a running job is not counted yet', () => {
  let memory = accountTimers({}, [timer(service({ invocationId: 'i1' }))], { readable: false, runs: [], capped: false }, CLOCK);
  assert.deepEqual(memory['job.timer']?.runs, { success: 0 }, 'first sight counts nothing');
  memory = accountTimers(memory, [timer(service({ activeState: 'activating', subState: 'start', invocationId: 'i2' }))], undefined, CLOCK);
  assert.deepEqual(memory['job.timer']?.runs, { success: 0 }, 'still running');
  memory = accountTimers(memory, [timer(service({ result: 'exit-code', invocationId: 'i2' }))], undefined, CLOCK);
  assert.deepEqual(memory['job.timer']?.runs, { success: 0, 'exit-code': 1 });
  memory = accountTimers(memory, [timer(service({ result: 'exit-code', invocationId: 'i2' }))], undefined, CLOCK);
  assert.deepEqual(memory['job.timer']?.runs, { success: 0, 'exit-code': 1 }, 'the same invocation once');
});

test('next elapse: the earlier of calendar and converted monotonic; none when neither', () => {
  const t = (nextElapseRealtime?: number, nextElapseMonotonic?: number) =>
    service({
      id: 'x.timer',
      timer: {
        unit: 'x.service',
        lastTriggerRealtime: undefined,
        lastTriggerMonotonic: undefined,
        nextElapseRealtime,
        nextElapseMonotonic,
        intervalSeconds: undefined,
      },
    });
  assert.equal(nextElapseTimestamp(t(1_795_000_100, 1030), CLOCK), 1_795_000_030);
  assert.equal(nextElapseTimestamp(t(1_795_000_100), CLOCK), 1_795_000_100);
  assert.equal(nextElapseTimestamp(t(), CLOCK), undefined);
});

test('journal read up to a moment: it stops before the first entry both clocks stamp later, the cursor before it', () => {
  const at = (cursor: string, realtime: number, monotonic: number) =>
    entry(cursor, 'job.service', SUCCESS_MESSAGE_ID, undefined, realtime * 1e6, monotonic * 1e6);
  const until = { realtime: 1_795_000_100, monotonic: 600 };
  const stdout = [
    at('c1', 1_795_000_090, 590),
    // Later by the wall clock only (it was stepped back since): before the moment, read.
    at('c2', 1_795_000_200, 595),
    // Later by CLOCK_MONOTONIC only (an earlier boot that ran longer): read.
    at('c3', 1_795_000_050, 9000),
    at('c4', 1_795_000_100.5, 600.5),
    // Earlier again, after a later one: not read either, or its cursor would skip c4.
    at('c5', 1_795_000_095, 599),
  ].join('\n');
  const reading = parseJournalOutput(stdout, '', 0, until);
  assert.equal(reading.cursor, 'c3');
  assert.deepEqual(
    reading.runs.map((r) => r.finishedAt),
    [1_795_000_090, 1_795_000_200, 1_795_000_050],
  );
  assert.equal(parseJournalOutput(stdout, '').cursor, 'c5', 'without a moment, everything');
  assert.equal(parseJournalOutput(at('c1', 1_795_000_101, 601), '', 0, until).cursor, undefined, 'nothing read, nothing moved');
});

/**
 * A timer fires its job while a tick reads systemd: for every moment the job can finish at
 * (before, between and after each of the tick's calls and each unit a show reads), what the
 * tick reports of the timer and its job agrees: a timer still "running" has no success of its
 * job after its last trigger (which is how a RemainAfterExit=yes job stuck active looks, and
 * pages SystemdTimerWillNotFire), and the run is counted exactly once over two ticks. The fake
 * answers as systemd 252 does: one unit after another within a show, PID 1's entry stamped
 * by both clocks at the run's end.
 */
test('a job that finishes while a tick reads: its timer and its runs agree, and the run is counted once', async () => {
  const OFFSET = 1_795_000_000 - 1000; // realtime - monotonic
  const TRIGGER = 1_795_000_000;
  const micros = (s: number) => String(Math.round(s * 1e6));
  const checked: string[] = [];
  for (let finish = TRIGGER + 0.0005; finish < TRIGGER + 0.06; finish += 0.001) {
    let now = TRIGGER;
    const done = () => now >= finish;
    const record = (name: string): string => {
      now += 0.001; // PID 1 answers one unit after another
      if (name === 'job.timer') {
        return [
          'Id=job.timer',
          'Names=job.timer',
          'LoadState=loaded',
          'ActiveState=active',
          `SubState=${done() ? 'waiting' : 'running'}`,
          'Result=success',
          'Unit=job.service',
          `LastTriggerUSec=@${TRIGGER}`,
          `LastTriggerUSecMonotonic=${micros(TRIGGER - OFFSET)}`,
          `NextElapseUSecRealtime=${done() ? `@${TRIGGER + 60}` : ''}`,
          'TimersMonotonic={ OnUnitActiveUSec=1min ; next_elapse=0 }',
        ].join('\n');
      }
      return [
        'Id=job.service',
        'Names=job.service',
        'LoadState=loaded',
        `ActiveState=${done() ? 'inactive' : 'activating'}`,
        `SubState=${done() ? 'dead' : 'start'}`,
        'Result=success',
        'InvocationID=0123456789abcdef0123456789abcdef',
        `InactiveExitTimestampMonotonic=${micros(TRIGGER - OFFSET)}`,
        `InactiveEnterTimestampMonotonic=${done() ? micros(finish - OFFSET) : '0'}`,
        `ExecMainExitTimestampMonotonic=${done() ? micros(finish - OFFSET) : '0'}`,
      ].join('\n');
    };
    const run = async (args: readonly string[]): Promise<string> => {
      now += 0.003;
      if (args[0] === 'list-units') {
        const sub = (name: string) => (name === 'job.timer' ? (done() ? 'waiting' : 'running') : done() ? 'dead' : 'start');
        return JSON.stringify(
          ['job.timer', 'job.service'].map((unit) => ({
            unit,
            load: 'loaded',
            active: unit === 'job.timer' || !done() ? 'active' : 'inactive',
            sub: sub(unit),
            description: '',
          })),
        );
      }
      return args
        .slice(args.indexOf('--') + 1)
        .map(record)
        .join('\n\n');
    };
    const journalctl = async (args: readonly string[]) => {
      now += 0.005;
      const fresh = !args.some((a) => a.startsWith('--after-cursor='));
      const line = entry('c1', 'job.service', SUCCESS_MESSAGE_ID, undefined, Math.round(finish * 1e6), Math.round((finish - OFFSET) * 1e6));
      return { stdout: done() && fresh ? line : '', stderr: '', code: 0 };
    };
    const readClock = () => ({ realtime: now, monotonic: now - OFFSET });
    const tick = (from: { cursor: string } | { sinceSeconds: number }) =>
      collect({ patterns: ['job.timer'], host: 'h', run, readClock, journal: { run: journalctl, from } });

    const first = await tick({ sinceSeconds: TRIGGER - 10 });
    const memory = accountTimers({}, first.timers, first.journal, first.snapshot.clock);
    const status = first.statuses.get('job.timer');
    const lastSuccess = memory['job.timer']?.lastSuccess;
    const at = `finished ${((finish - TRIGGER) * 1000).toFixed(1)} ms after the trigger`;
    if (status?.subState === 'running') {
      assert.ok(lastSuccess === undefined || lastSuccess <= TRIGGER, `${at}: a running timer beside a later success of its job`);
    }
    now += 30;
    const second = await tick(first.journal?.cursor ? { cursor: first.journal.cursor } : { sinceSeconds: TRIGGER - 10 });
    const after = accountTimers(memory, second.timers, second.journal, second.snapshot.clock);
    assert.equal(after['job.timer']?.runs['success'], 1, `${at}: counted once over two ticks`);
    const success = after['job.timer']?.lastSuccess;
    assert.ok(success !== undefined && Math.abs(success - finish) < 1e-4, `${at}: last success ${success}`);
    checked.push(status?.subState ?? '?');
  }
  assert.ok(checked.includes('running') && checked.includes('waiting'), `both cases met: ${checked.join(' ')}`);
});
