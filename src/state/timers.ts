/**
 * Pure: what each watched timer's job did, remembered across ticks in the state directory.
 *
 * - runs: every finished run counted once by its result. From the journal when it is
 *   readable (exact, even for a job that runs many times between two ticks); otherwise one
 *   run per new InvocationID seen finished (a job that ran twice between ticks counts once).
 * - lastSuccess: systemd forgets a success as soon as a run fails, so it is kept here. After
 *   a reboot it is still known (wall-clock time); on the very first tick it is known only if
 *   the latest run succeeded.
 * - lastResult: the Result of the job's latest finished run, from `systemctl show`.
 */
import type { Clock, WatchedTimer } from '../systemd/collect.ts';
import type { JournalReading } from '../systemd/journal.ts';
import type { UnitStatus } from '../systemd/unit.ts';

export interface TimerMemory {
  readonly service: string;
  readonly runs: Readonly<Record<string, number>>;
  readonly lastSuccess?: number;
  readonly lastResult?: string;
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
    let lastResult = kept?.lastResult;
    let countedInvocation = kept?.countedInvocation;
    const service = timer.serviceStatus;

    if (journal?.readable) {
      for (const run of journal.runs) {
        if (run.service !== timer.service) continue;
        runs[run.result] = (runs[run.result] ?? 0) + 1;
        if (run.result === 'success') lastSuccess = Math.max(lastSuccess ?? 0, run.finishedAt);
      }
    }
    if (service && service.loadState === 'loaded' && finished(service)) {
      const result = service.result ?? 'success';
      lastResult = result;
      if (!journal?.readable && kept && service.invocationId !== countedInvocation) {
        runs[result] = (runs[result] ?? 0) + 1;
      }
      countedInvocation = service.invocationId;
      const at = finishedAt(service, clock);
      if (result === 'success' && at !== undefined) lastSuccess = Math.max(lastSuccess ?? 0, at);
    }
    next[timer.name] = {
      service: timer.service,
      runs,
      ...(lastSuccess !== undefined ? { lastSuccess } : {}),
      ...(lastResult !== undefined ? { lastResult } : {}),
      ...(countedInvocation !== undefined ? { countedInvocation } : {}),
    };
  }
  return next;
}
