/**
 * Pure: what systemd said in one tick -> the observations to push. Every name used here is
 * a constant from definitions.ts.
 */
import type { FailureMemory } from '../state/failures.ts';
import type { TimerMemory } from '../state/timers.ts';
import type { Clock, Snapshot } from '../systemd/collect.ts';
import { unitType, type UnitStatus } from '../systemd/unit.ts';
import {
  FAILED_UNITS,
  HEARTBEAT_COLLECT_DURATION,
  HEARTBEAT_COLLECT_ERRORS,
  HEARTBEAT_JOURNAL_READABLE,
  HEARTBEAT_LAST_RUN,
  HEARTBEAT_SPOOL_DROPPED,
  HEARTBEAT_SPOOLED_RUNS,
  HEARTBEAT_UNITS,
  TIMER_INTERVAL,
  TIMER_LAST_RESULT,
  TIMER_LAST_SUCCESS,
  TIMER_LAST_TRIGGER,
  TIMER_NEXT_ELAPSE,
  TIMER_RUNS,
  UNIT_ACTIVE,
  UNIT_CONDITION_MET,
  UNIT_FAILED,
  UNIT_FAILURES,
  UNIT_LAST_FAILURE,
  UNIT_RELOAD_FAILED,
  UNIT_RELOADS,
  UNIT_LAST_EXIT_STATUS,
  UNIT_LOADED,
  UNIT_RESTART_COUNT,
  UNIT_SECONDS_SINCE_ACTIVE,
  UNIT_STARTS,
  type MetricName,
} from './definitions.ts';

export interface Observation {
  readonly name: MetricName;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** One run's observations and the Unix time (seconds) they were collected. */
export interface Run {
  readonly collectedAt: number;
  readonly observations: readonly Observation[];
}

/** What the state directory adds to a run; absent when there is no usable state directory. */
export interface Remembered {
  /** systemd_unit_starts_total per allowlisted unit. */
  readonly starts: Readonly<Record<string, number>>;
  /** Runs waiting in the spool, and runs ever dropped from it. */
  readonly spooledRuns: number;
  readonly spoolDropped: number;
  /** What each timer's job did (state/timers.ts), by timer name. */
  readonly timers?: Readonly<Record<string, TimerMemory>>;
  /** Failures and reloads of each allowlisted unit (state/failures.ts), by unit name. */
  readonly failures?: Readonly<Record<string, FailureMemory>>;
  /** Whether the journal could be read; undefined when not asked. */
  readonly journalReadable?: boolean;
}

/** Unix seconds of the next elapse: the earlier of the calendar one and the converted monotonic one. */
export function nextElapseTimestamp(status: UnitStatus, clock: Clock): number | undefined {
  const timer = status.timer;
  if (!timer) return undefined;
  const candidates: number[] = [];
  if (timer.nextElapseRealtime !== undefined) candidates.push(timer.nextElapseRealtime);
  if (timer.nextElapseMonotonic !== undefined) candidates.push(clock.realtime + (timer.nextElapseMonotonic - clock.monotonic));
  return candidates.length === 0 ? undefined : Math.min(...candidates);
}

const ACTIVE_STATES = new Set(['active', 'reloading']);

/**
 * 0 while active; otherwise the age of the latest exit or start systemd remembers. A oneshot
 * never reaches "active", so its last run is dated by ExecMainExit / InactiveExit.
 * Monotonic clocks only: a wall-clock step cannot make it negative or huge.
 */
export function secondsSinceActive(status: UnitStatus, clock: Clock): number | undefined {
  if (status.timer) {
    const { lastTriggerMonotonic, lastTriggerRealtime } = status.timer;
    if (lastTriggerMonotonic !== undefined) return Math.max(0, clock.monotonic - lastTriggerMonotonic);
    // Triggered before this boot (a Persistent= stamp): only the wall clock dates it.
    if (lastTriggerRealtime !== undefined) return Math.max(0, clock.realtime - lastTriggerRealtime);
    return undefined;
  }
  if (ACTIVE_STATES.has(status.activeState)) return 0;
  const stamps = [status.activeExitMonotonic, status.execMainExitMonotonic, status.inactiveExitMonotonic].filter(
    (s): s is number => s !== undefined,
  );
  if (stamps.length === 0) return undefined;
  return Math.max(0, clock.monotonic - Math.max(...stamps));
}

/** Unix seconds of the last trigger, preferring the precise monotonic stamp converted to wall time. */
function lastTriggerTimestamp(status: UnitStatus, clock: Clock): number | undefined {
  const timer = status.timer;
  if (!timer) return undefined;
  if (timer.lastTriggerMonotonic !== undefined) return clock.realtime - (clock.monotonic - timer.lastTriggerMonotonic);
  return timer.lastTriggerRealtime;
}

export function toObservations(snapshot: Snapshot, remembered?: Remembered): Observation[] {
  const { host, clock } = snapshot;
  const out: Observation[] = [];
  const push = (name: MetricName, labels: Record<string, string>, value: number): void => {
    out.push({ name, labels: { ...labels, host }, value });
  };

  for (const { name: unit, status } of snapshot.units) {
    if (!status) continue;
    push(UNIT_LOADED.name, { unit, load_state: status.loadState }, status.loadState === 'loaded' ? 1 : 0);
    // not-found / masked units have no state worth charting: systemd reports them inactive/dead.
    if (status.loadState !== 'loaded') continue;
    push(UNIT_ACTIVE.name, { unit, sub_state: status.subState }, status.activeState === 'active' ? 1 : 0);
    push(UNIT_FAILED.name, { unit, result: status.result ?? '' }, status.activeState === 'failed' ? 1 : 0);
    const age = secondsSinceActive(status, clock);
    if (age !== undefined) push(UNIT_SECONDS_SINCE_ACTIVE.name, { unit }, age);
    if (status.conditionMet !== undefined) push(UNIT_CONDITION_MET.name, { unit }, status.conditionMet ? 1 : 0);
    const failures = remembered?.failures && Object.hasOwn(remembered.failures, unit) ? remembered.failures[unit] : undefined;
    if (failures) {
      for (const [result, count] of Object.entries(failures.failures).sort()) push(UNIT_FAILURES.name, { unit, result }, count);
      if (failures.lastFailure !== undefined) push(UNIT_LAST_FAILURE.name, { unit }, failures.lastFailure);
      for (const [result, count] of Object.entries(failures.reloads).sort()) push(UNIT_RELOADS.name, { unit, result }, count);
    }
    if (unitType(unit) === 'service' || unitType(status.id) === 'service') {
      if (status.reloadResult !== undefined) push(UNIT_RELOAD_FAILED.name, { unit }, status.reloadResult === 'success' ? 0 : 1);
      if (status.nRestarts !== undefined) push(UNIT_RESTART_COUNT.name, { unit }, status.nRestarts);
      const starts = remembered && Object.hasOwn(remembered.starts, unit) ? remembered.starts[unit] : undefined;
      if (starts !== undefined) push(UNIT_STARTS.name, { unit }, starts);
      if (status.execMainStatus !== undefined) push(UNIT_LAST_EXIT_STATUS.name, { unit }, status.execMainStatus);
    }
    if (status.timer) {
      const last = lastTriggerTimestamp(status, clock);
      if (last !== undefined) push(TIMER_LAST_TRIGGER.name, { unit }, last);
      if (status.timer.intervalSeconds !== undefined) push(TIMER_INTERVAL.name, { unit }, status.timer.intervalSeconds);
      const next = nextElapseTimestamp(status, clock);
      if (next !== undefined) push(TIMER_NEXT_ELAPSE.name, { unit }, next);
      const job = remembered?.timers && Object.hasOwn(remembered.timers, unit) ? remembered.timers[unit] : undefined;
      if (job) {
        const service = job.service;
        if (job.lastSuccess !== undefined) push(TIMER_LAST_SUCCESS.name, { unit, service }, job.lastSuccess);
        if (job.lastResult !== undefined) push(TIMER_LAST_RESULT.name, { unit, service, result: job.lastResult }, 1);
        for (const [result, count] of Object.entries(job.runs).sort()) push(TIMER_RUNS.name, { unit, service, result }, count);
      }
    }
  }

  for (const { name: unit, result } of snapshot.failedElsewhere) {
    push(UNIT_FAILED.name, { unit, result: result ?? '' }, 1);
  }
  if (snapshot.failedCount !== undefined) push(FAILED_UNITS.name, {}, snapshot.failedCount);

  push(HEARTBEAT_LAST_RUN.name, {}, clock.realtime);
  push(HEARTBEAT_COLLECT_DURATION.name, {}, snapshot.collectSeconds);
  push(HEARTBEAT_UNITS.name, {}, snapshot.units.filter((u) => u.status !== undefined).length);
  push(HEARTBEAT_COLLECT_ERRORS.name, {}, snapshot.errors);
  if (remembered) {
    push(HEARTBEAT_SPOOLED_RUNS.name, {}, remembered.spooledRuns);
    push(HEARTBEAT_SPOOL_DROPPED.name, {}, remembered.spoolDropped);
    if (remembered.journalReadable !== undefined) push(HEARTBEAT_JOURNAL_READABLE.name, {}, remembered.journalReadable ? 1 : 0);
  }
  return out;
}
