/**
 * Pure: every failure and reload of each allowlisted unit, remembered across ticks in the
 * state directory (systemd forgets a failure on the next start).
 *
 * - failures: from the journal when it is readable, one per PID 1 failure entry (d9b373ed...,
 *   UNIT_RESULT), so a crash that Restart= recovers within a tick, or a oneshot that fails
 *   between two ticks, is counted. Otherwise one per failed run seen at a tick (a new
 *   InvocationID whose Result is not success): failures between two ticks count as one.
 * - lastFailure: the journal time of the latest failure entry; fallback: the end of the failed
 *   run `show` has (InactiveEnter / ExecMainExit, converted from monotonic time).
 * - reloads: finished reload jobs by JOB_RESULT (done, failed, ...), from the journal only.
 */
import type { Clock } from '../systemd/collect.ts';
import { bump } from './count.ts';
import type { JournalReading } from '../systemd/journal.ts';
import type { UnitStatus } from '../systemd/unit.ts';

export interface FailureMemory {
  readonly failures: Readonly<Record<string, number>>;
  readonly lastFailure?: number;
  readonly lastFailureResult?: string;
  readonly reloads: Readonly<Record<string, number>>;
  /** The failed invocation the fallback counted last. */
  readonly countedInvocation?: string;
}

export type FailuresMemory = Readonly<Record<string, FailureMemory>>;

/** The failed run `show` has now, if any: its Result and the invocation it belongs to. */
function failedRun(status: UnitStatus): { result: string; invocation: string | undefined } | undefined {
  const result = status.result;
  if (result === undefined || result === 'success') return undefined;
  // A failed run is over: the unit is failed, waiting to restart, or a oneshot back to inactive.
  if (status.activeState !== 'failed' && status.subState !== 'auto-restart' && status.activeState !== 'inactive') return undefined;
  return { result, invocation: status.invocationId };
}

function endOf(status: UnitStatus, clock: Clock): number | undefined {
  const mono = status.inactiveEnterMonotonic ?? status.execMainExitMonotonic;
  return mono === undefined ? undefined : clock.realtime - (clock.monotonic - mono);
}

export function accountFailures(
  previous: FailuresMemory,
  units: ReadonlyArray<{ readonly name: string; readonly status: UnitStatus | undefined }>,
  journal: JournalReading | undefined,
  clock: Clock,
): Record<string, FailureMemory> {
  const next: Record<string, FailureMemory> = {};
  for (const { name, status } of units) {
    const kept = Object.hasOwn(previous, name) ? previous[name] : undefined;
    if (status?.loadState !== 'loaded') {
      if (kept) next[name] = kept;
      continue;
    }
    const failures: Record<string, number> = { ...(kept?.failures ?? {}) };
    const reloads: Record<string, number> = { ...(kept?.reloads ?? {}) };
    let last = kept?.lastFailure === undefined ? undefined : { at: kept.lastFailure, result: kept.lastFailureResult ?? '' };
    let countedInvocation = kept?.countedInvocation;
    const failed = failedRun(status);
    if (journal?.readable) {
      for (const run of journal.runs) {
        if (run.service !== name || run.result === 'success') continue;
        bump(failures, run.result);
        if (!last || run.finishedAt >= last.at) last = { at: run.finishedAt, result: run.result };
      }
      for (const reload of journal.reloads ?? []) if (reload.unit === name) bump(reloads, reload.result);
    } else if (failed && kept && failed.invocation !== countedInvocation) {
      bump(failures, failed.result);
      const at = endOf(status, clock) ?? clock.realtime;
      if (!last || at >= last.at) last = { at, result: failed.result };
    }
    // The fallback's next comparison starts from what show has now, whichever way this tick counted.
    if (failed) countedInvocation = failed.invocation;
    next[name] = {
      failures,
      reloads,
      ...(last ? { lastFailure: last.at, lastFailureResult: last.result } : {}),
      ...(countedInvocation !== undefined ? { countedInvocation } : {}),
    };
  }
  return next;
}
