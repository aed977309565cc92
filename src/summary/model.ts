/**
 * Pure types: what the report finds, per host. JSON output is this shape (`--format json`).
 */
import type { SummaryWindow } from './queries.ts';

/** Exit code when the report found a problem (or no data): a cron job or timer can act on it. */
export const EXIT_PROBLEMS = 3;

export interface FailedUnit {
  readonly unit: string;
  /** systemd's Result at the last failed step (exit-code, signal, core-dump, timeout, start-limit-hit, ...). */
  readonly result: string;
  readonly exitStatus: number | null;
  /** First and last step (unix seconds, step end) the unit was seen failed in the window. */
  readonly firstFailedAt: number;
  readonly lastFailedAt: number;
  /** It was already failed in the step before the window. */
  readonly failedBeforeWindow: boolean;
  /** Failed at the host's last run. */
  readonly stillFailed: boolean;
}

export interface RestartLoop {
  readonly from: number;
  readonly to: number;
  readonly restarts: number;
}

export interface UnitRestarts {
  readonly unit: string;
  readonly restarts: number;
  readonly lastRestartAt: number;
  readonly loops: readonly RestartLoop[];
  /** More than RESTART_THRESHOLD restarts in the RESTART_WINDOW before the host's last run. */
  readonly looping: boolean;
}

export interface TimerFinding {
  readonly unit: string;
  readonly state: 'stale' | 'never-fired';
  readonly lastTriggerAt: number | null;
  readonly intervalSeconds: number | null;
  /** Stale timers: first and last step it was seen stale. */
  readonly staleFrom: number | null;
  readonly staleTo: number | null;
  readonly stillStale: boolean;
  /** False for a never-fired timer that cannot be judged (no repeating schedule, or the window is shorter than STALE_FACTOR intervals). */
  readonly problem: boolean;
}

/** A timer's job over the window: what the exporter counted from the journal (or InvocationIDs). */
export interface TimerJob {
  /** The timer. */
  readonly unit: string;
  /** The service it triggers. */
  readonly service: string;
  readonly runs: number;
  readonly successes: number;
  readonly failures: number;
  /** Failed runs by systemd's Result (exit-code, signal, timeout, core-dump, ...). */
  readonly failuresByResult: Readonly<Record<string, number>>;
  /** Starts skipped by an unmet Condition*= (result "skipped"): the timer fired, the job did not run. */
  readonly skipped: number;
  /** Unix seconds of the last success the exporter remembers (may be before the window); null when none was seen. */
  readonly lastSuccessAt: number | null;
  /** The Result of the latest finished run seen in the window; null when none. */
  readonly lastResult: string | null;
  /** It ran (or was skipped) in the window and never succeeded: a problem even when no alert fired (it may not have failed long enough for one). */
  readonly problem: boolean;
}

/** A unit's failures in the window, from PID 1's journal (crashes Restart= recovered included). */
export interface UnitFailures {
  readonly unit: string;
  readonly failures: number;
  /** By systemd's UNIT_RESULT (exit-code, signal, core-dump, timeout, start-limit-hit, ...), most first. */
  readonly byResult: Readonly<Record<string, number>>;
  /** Unix seconds of the latest failure the exporter remembers; null when not known. */
  readonly lastFailureAt: number | null;
}

/** Reloads of a unit that failed in the window (it kept running the old configuration). */
export interface FailedReloads {
  readonly unit: string;
  readonly failed: number;
}

export interface MissingUnit {
  readonly unit: string;
  readonly loadState: string;
  readonly firstSeenAt: number;
  readonly lastSeenAt: number;
  /** It was already not loaded in the step before the window. */
  readonly missingBeforeWindow: boolean;
  readonly stillMissing: boolean;
}

export interface Gap {
  readonly from: number;
  readonly to: number;
  readonly seconds: number;
  /** No run since `from`: the exporter is silent now. */
  readonly ongoing: boolean;
}

export interface Coverage {
  readonly runs: number;
  readonly expectedRuns: number;
  /** runs / expectedRuns, at most 1 (a faster exporter does not make up for a gap). */
  readonly fraction: number;
  /** The host's first run, when it came inside the window (a new host: coverage and gaps count from here); null when it ran before. */
  readonly firstRunAt: number | null;
  readonly lastRunAt: number | null;
  readonly gaps: readonly Gap[];
  readonly problem: boolean;
}

export interface HostSummary {
  readonly host: string;
  /** `accountID:projectID` when the series came through vmagent's multitenant handlers (vm_account_id, vm_project_id); absent otherwise. */
  readonly tenant?: string;
  readonly noData: boolean;
  /** Allowlisted units the exporter observed at its last run in the window. */
  readonly units: number | null;
  readonly problems: number;
  readonly failed: readonly FailedUnit[];
  readonly restarts: readonly UnitRestarts[];
  readonly failures: readonly UnitFailures[];
  readonly failedReloads: readonly FailedReloads[];
  readonly timers: readonly TimerFinding[];
  readonly timerJobs: readonly TimerJob[];
  readonly missing: readonly MissingUnit[];
  readonly coverage: Coverage;
}

export interface Summary {
  readonly verdict: string;
  readonly problems: number;
  readonly window: SummaryWindow;
  /** --host, or null for every host. */
  readonly hostFilter: string | null;
  readonly hosts: readonly HostSummary[];
  readonly exitCode: number;
}
