/**
 * Pure: what each watched timer's job did, remembered across ticks in the state directory.
 *
 * - runs: every finished run counted once by its result. From the journal when it is
 *   readable (exact, even for a job that runs many times between two ticks); otherwise one
 *   run per new InvocationID seen finished (a job that ran twice between ticks counts once).
 * - lastSuccess: systemd forgets a success as soon as a run fails, so it is kept here. After
 *   a reboot it is still known (wall-clock time); on the very first tick it is known only if
 *   the latest run succeeded.
 * - lastResult: the Result of the job's latest finished run, from whichever source in the tick
 *   saw the latest: the journal's runs or `show` (which has no result while a run is going,
 *   so a job that is running at every tick still gets the result of the run before).
 */
import type { Clock, WatchedTimer } from '../systemd/collect.ts';
import type { JournalReading } from '../systemd/journal.ts';
import { bump } from './count.ts';
import type { UnitStatus } from '../systemd/unit.ts';

export interface TimerMemory {
  readonly service: string;
  readonly runs: Readonly<Record<string, number>>;
  readonly lastSuccess?: number;
  readonly lastResult?: string;
  /** Unix seconds the run of lastResult finished (when known). */
  readonly lastResultAt?: number;
  /** The latest finished invocation counted by the fallback. */
  readonly countedInvocation?: string;
}

export type TimersMemory = Readonly<Record<string, TimerMemory>>;

const RUNNING = new Set(['active', 'activating', 'deactivating', 'reloading']);

/** The job's latest run is over: a oneshot back to inactive/failed, or a RemainAfterExit one exited. */
function finished(service: UnitStatus): boolean {
  if (service.activeState === 'active' && service.subState === 'exited') return true;
  return !RUNNING.has(service.activeState) && service.invocationId !== undefined;
}

/** Unix seconds the latest run ended, from monotonic stamps (immune to wall-clock steps). */
function finishedAt(service: UnitStatus, clock: Clock): number | undefined {
  const mono =
    service.activeState === 'active' ? service.execMainExitMonotonic : (service.inactiveEnterMonotonic ?? service.execMainExitMonotonic);
  return mono === undefined ? undefined : clock.realtime - (clock.monotonic - mono);
}

export function accountTimers(
  previous: TimersMemory,
  timers: readonly WatchedTimer[],
  journal: JournalReading | undefined,
  clock: Clock,
): Record<string, TimerMemory> {
  const next: Record<string, TimerMemory> = {};
  for (const timer of timers) {
    const before = Object.hasOwn(previous, timer.name) ? previous[timer.name] : undefined;
    // A timer pointed at another service starts afresh: its counts are the old job's.
    const kept = before && before.service === timer.service ? before : undefined;
    // success is always there (0 until the first one), so a rule sees the series from the start.
    const runs: Record<string, number> = { success: 0, ...(kept?.runs ?? {}) };
    let lastSuccess = kept?.lastSuccess;
    let last = kept?.lastResult === undefined ? undefined : { result: kept.lastResult, at: kept.lastResultAt ?? Number.NEGATIVE_INFINITY };
    /** A finished run; `at` undefined: its end is not known, but it is what systemd holds now. */
    const finishedRun = (result: string, at: number | undefined): void => {
      if (!last || (at ?? clock.realtime) >= last.at) last = { result, at: at ?? clock.realtime };
      if (result === 'success' && at !== undefined) lastSuccess = Math.max(lastSuccess ?? 0, at);
    };
    let countedInvocation = kept?.countedInvocation;
    const service = timer.serviceStatus;

    if (journal?.readable) {
      for (const run of journal.runs) {
        if (run.service !== timer.service) continue;
        bump(runs, run.result);
        finishedRun(run.result, run.finishedAt);
      }
    }
    if (journal?.readable) {
      // A start skipped by an unmet condition: the timer fired, the job did not run (Result stays success).
      for (const job of journal.skipped ?? []) {
        if (job.unit !== timer.service) continue;
        bump(runs, 'skipped');
        finishedRun('skipped', job.at);
      }
    }
    if (service && service.loadState === 'loaded' && finished(service)) {
      const result = service.result ?? 'success';
      if (!journal?.readable && kept && service.invocationId !== countedInvocation) {
        bump(runs, result);
      }
      countedInvocation = service.invocationId;
      finishedRun(result, finishedAt(service, clock));
    }
    const lastResult = last?.result;
    const lastResultAt = last && Number.isFinite(last.at) ? last.at : undefined;
    next[timer.name] = {
      service: timer.service,
      runs,
      ...(lastSuccess !== undefined ? { lastSuccess } : {}),
      ...(lastResult !== undefined ? { lastResult } : {}),
      ...(lastResultAt !== undefined ? { lastResultAt } : {}),
      ...(countedInvocation !== undefined ? { countedInvocation } : {}),
    };
  }
  return next;
}
