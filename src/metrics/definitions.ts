/**
 * THE list of metrics systemd-heartbeat pushes. README's metric table, the alert rules and
 * the dashboard queries are tested against this list, so they cannot drift from it.
 *
 * Names are the names stored in VictoriaMetrics. They are chosen so that they come out
 * identical with and without `-opentelemetry.usePrometheusNaming`: counters already end in
 * `_total`, and no instrument carries an OTLP unit that the naming mode would append
 * (`unit` below is documentation; see `otlpUnit`). Label keys have no dots.
 */

export type MetricType = 'gauge' | 'counter';

export interface MetricDefinition {
  readonly name: string;
  readonly type: MetricType;
  /** Unit of the value, for people: "seconds", "1" (a count or a 0/1 state), "exit status". */
  readonly unit: string;
  readonly labels: readonly string[];
  /** Where the value comes from. */
  readonly source: string;
  /** What it measures and why it exists. */
  readonly help: string;
}

function define<const D extends MetricDefinition>(definition: D): D {
  return definition;
}

/** 1 while ActiveState=active, else 0; `sub_state` says what it is doing (running, exited, auto-restart, ...). */
export const UNIT_ACTIVE = define({
  name: 'systemd_unit_active',
  type: 'gauge',
  unit: '1',
  labels: ['unit', 'sub_state', 'host'],
  source: 'ActiveState, SubState',
  help: '1 when the unit is active, else 0; sub_state is the SubState at collection time.',
});

/** NRestarts counts only automatic Restart= restarts and resets on a manual start (systemd#6495). */
export const UNIT_RESTART_COUNT = define({
  name: 'systemd_unit_restart_count_total',
  type: 'counter',
  unit: '1',
  labels: ['unit', 'host'],
  source: 'NRestarts (services)',
  help: 'Automatic restarts systemd made (Restart=); resets on a manual start or reset-failed.',
});

/**
 * Every start the exporter saw, Restart= or not: a new InvocationID (or InactiveExitTimestamp)
 * since the previous run counts one. NRestarts misses manual restarts and timer re-runs and
 * resets on a manual start; this one is remembered in the state directory and never resets.
 * At most one start per unit per run: starts between two runs are seen as one.
 */
export const UNIT_STARTS = define({
  name: 'systemd_unit_starts_total',
  type: 'counter',
  unit: '1',
  labels: ['unit', 'host'],
  source: 'InvocationID, InactiveExitTimestampMonotonic (compared with the previous run)',
  help: 'Starts seen since the exporter first watched the unit (a new InvocationID between two runs counts one, so at most one per run); kept in the state directory, so it survives reboots and never resets.',
});

export const UNIT_LAST_EXIT_STATUS = define({
  name: 'systemd_unit_last_exit_status',
  type: 'gauge',
  unit: 'exit status',
  labels: ['unit', 'host'],
  source: 'ExecMainStatus (services)',
  help: "Exit status (or signal number) of the main process's last exit; 0 when it never exited.",
});

/** Monotonic timestamps are used, so a wall-clock jump cannot make an age negative or huge. */
export const UNIT_SECONDS_SINCE_ACTIVE = define({
  name: 'systemd_unit_seconds_since_active',
  type: 'gauge',
  unit: 'seconds',
  labels: ['unit', 'host'],
  source: 'ActiveExit/ExecMainExit/InactiveExit timestamps; timers: LastTriggerUSec',
  help: '0 while active; otherwise seconds since the unit was last active (a oneshot: since its last run ended); a timer: seconds since it last triggered. Absent when it never ran.',
});

export const UNIT_LOADED = define({
  name: 'systemd_unit_loaded',
  type: 'gauge',
  unit: '1',
  labels: ['unit', 'host', 'load_state'],
  source: 'LoadState',
  help: '1 when LoadState=loaded; 0 for not-found, masked, bad-setting, error. Every allowlisted name gets it.',
});

export const UNIT_FAILED = define({
  name: 'systemd_unit_failed',
  type: 'gauge',
  unit: '1',
  labels: ['unit', 'host', 'result'],
  source: 'ActiveState, Result; list-units --state=failed',
  help: '1 when ActiveState=failed, else 0; result is the Result (exit-code, signal, core-dump, timeout, start-limit-hit, oom-kill, ...). Also set for failed units outside the allowlist.',
});

/** The journal sees every failure, including crashes Restart= recovers and oneshots that fail between two ticks. */
export const UNIT_FAILURES = define({
  name: 'systemd_unit_failures_total',
  type: 'counter',
  unit: '1',
  labels: ['unit', 'host', 'result'],
  source: "PID 1's journal entry per failure (MESSAGE_ID d9b373ed..., UNIT_RESULT); fallback: failed runs seen at ticks",
  help: 'Failures of the unit by result (exit-code, signal, core-dump, timeout, start-limit-hit, ...), each counted once from the journal; one per failed run seen at a tick when the journal cannot be read. Kept in the state directory; absent until the first failure.',
});

/** systemd forgets a failure on the next start: the time is remembered in the state directory. */
export const UNIT_LAST_FAILURE = define({
  name: 'systemd_unit_last_failure_timestamp_seconds',
  type: 'gauge',
  unit: 'seconds',
  labels: ['unit', 'host'],
  source: "the journal entry's time of the latest failure; fallback: the failed run's InactiveEnter/ExecMainExit timestamp",
  help: "Unix time of the unit's latest failure (its result: the systemd_unit_failures_total series that grew then); absent until one is seen (kept across reboots).",
});

/** A failed ExecReload= leaves the unit active with Result=success: only ReloadResult and the journal tell. */
export const UNIT_RELOADS = define({
  name: 'systemd_unit_reloads_total',
  type: 'counter',
  unit: '1',
  labels: ['unit', 'host', 'result'],
  source: "PID 1's journal entry per finished reload job (MESSAGE_ID 7b05ebc6..., JOB_TYPE=reload, JOB_RESULT)",
  help: 'Reload jobs of the unit by JOB_RESULT (done, failed, timeout, ...), counted from the journal; kept in the state directory; absent until the first reload.',
});

export const UNIT_RELOAD_FAILED = define({
  name: 'systemd_unit_reload_failed',
  type: 'gauge',
  unit: '1',
  labels: ['unit', 'host'],
  source: 'ReloadResult (services)',
  help: "1 while the unit's latest reload failed (ReloadResult is not success), else 0; a good reload clears it. Services only.",
});

/** A start skipped by Condition*= is no failure to systemd (Result=success) and no run. */
export const UNIT_CONDITION_MET = define({
  name: 'systemd_unit_condition_met',
  type: 'gauge',
  unit: '1',
  labels: ['unit', 'host'],
  source: 'ConditionResult, ConditionTimestampMonotonic',
  help: "1 when the unit's Condition*= settings held at its latest start, 0 when that start was skipped; absent before any start.",
});

export const FAILED_UNITS = define({
  name: 'systemd_failed_units',
  type: 'gauge',
  unit: '1',
  labels: ['host'],
  source: 'list-units (ActiveState=failed), all units on the host',
  help: 'Number of failed units on the host, allowlisted or not.',
});

export const TIMER_LAST_TRIGGER = define({
  name: 'systemd_timer_last_trigger_timestamp_seconds',
  type: 'gauge',
  unit: 'seconds',
  labels: ['unit', 'host'],
  source: 'LastTriggerUSec (timers)',
  help: 'Unix time the timer last triggered; absent when it never triggered.',
});

export const TIMER_INTERVAL = define({
  name: 'systemd_timer_interval_seconds',
  type: 'gauge',
  unit: 'seconds',
  labels: ['unit', 'host'],
  source: 'TimersMonotonic (OnUnitActiveSec/OnUnitInactiveSec), TimersCalendar (longest gap of the next elapses)',
  help: "The timer's own period, so one rule can judge every timer's staleness; absent for a timer that does not repeat.",
});

/** NextElapseUSecRealtime, or NextElapseUSecMonotonic converted to wall time; systemd#5923 is a timer whose next elapse stays in the past. */
export const TIMER_NEXT_ELAPSE = define({
  name: 'systemd_timer_next_elapse_timestamp_seconds',
  type: 'gauge',
  unit: 'seconds',
  labels: ['unit', 'host'],
  source: 'NextElapseUSecRealtime, NextElapseUSecMonotonic (timers)',
  help: 'Unix time the timer fires next (the earlier of its calendar and monotonic elapses); absent when it will not fire again.',
});

/** systemd forgets the last success once a run fails: it is remembered in the state directory. */
export const TIMER_LAST_SUCCESS = define({
  name: 'systemd_timer_last_success_timestamp_seconds',
  type: 'gauge',
  unit: 'seconds',
  labels: ['unit', 'host', 'service'],
  source: "the triggered service's Result=success runs (journal, InactiveEnterTimestamp), kept in the state directory",
  help: "Unix time the timer's job last finished with Result=success; absent until one is seen (kept across reboots).",
});

export const TIMER_LAST_RESULT = define({
  name: 'systemd_timer_last_result',
  type: 'gauge',
  unit: '1',
  labels: ['unit', 'host', 'service', 'result'],
  source: "the triggered service's Result after its latest finished run (journal or show, whichever is later)",
  help: "1 for the Result of the timer job's latest finished run (success, exit-code, signal, timeout, ..., or skipped when an unmet condition skipped it); one series at a time.",
});

/** The journal sees every run, including those between two ticks that `systemctl show` cannot. */
export const TIMER_RUNS = define({
  name: 'systemd_timer_runs_total',
  type: 'counter',
  unit: '1',
  labels: ['unit', 'host', 'service', 'result'],
  source:
    "PID 1's journal entries per finished run (MESSAGE_ID 7ad2d189... success, d9b373ed... failure) and per start skipped by a condition (39f53479...); fallback: InvocationID changes",
  help: 'Finished runs of the timer\'s job by result, counted once each from the journal (exact), or one per new InvocationID when the journal cannot be read; result="skipped" for a trigger whose job an unmet Condition*= skipped.',
});

export const HEARTBEAT_JOURNAL_READABLE = define({
  name: 'systemd_heartbeat_journal_readable',
  type: 'gauge',
  unit: '1',
  labels: ['host'],
  source: 'the exporter (journalctl)',
  help: "1 when failures, reloads and timer jobs' runs were read from the journal this run; 0 when it could not be read and they were counted from what show has at each tick (logged). Absent with --user (the user manager's entries are not read from the journal).",
});

export const HEARTBEAT_LAST_RUN = define({
  name: 'systemd_heartbeat_last_run_timestamp_seconds',
  type: 'gauge',
  unit: 'seconds',
  labels: ['host'],
  source: 'the exporter',
  help: "Unix time of this run's collection: the dead-man's switch alerts on its absence.",
});

export const HEARTBEAT_COLLECT_DURATION = define({
  name: 'systemd_heartbeat_collect_duration_seconds',
  type: 'gauge',
  unit: 'seconds',
  labels: ['host'],
  source: 'the exporter',
  help: 'Wall time spent reading systemd (the systemctl calls and parsing) in this run.',
});

export const HEARTBEAT_UNITS = define({
  name: 'systemd_heartbeat_units',
  type: 'gauge',
  unit: '1',
  labels: ['host'],
  source: 'the exporter',
  help: 'Allowlisted units observed in this run (names plus glob matches).',
});

export const HEARTBEAT_COLLECT_ERRORS = define({
  name: 'systemd_heartbeat_collect_errors',
  type: 'gauge',
  unit: '1',
  labels: ['host'],
  source: 'the exporter',
  help: 'Reads that failed in this run (a systemctl call, or a unit missing from its output); each is also logged.',
});

export const HEARTBEAT_SPOOLED_RUNS = define({
  name: 'systemd_heartbeat_spooled_runs',
  type: 'gauge',
  unit: '1',
  labels: ['host'],
  source: 'the exporter (state directory)',
  help: 'Earlier runs waiting in the spool to be pushed, as seen when this run started (0 when all arrived).',
});

export const HEARTBEAT_SPOOL_DROPPED = define({
  name: 'systemd_heartbeat_spool_dropped_runs_total',
  type: 'counter',
  unit: '1',
  labels: ['host'],
  source: 'the exporter (state directory)',
  help: 'Runs dropped from the spool unsent: beyond the age or size limit, or unreadable (torn, corrupt). Each drop is also logged.',
});

export const METRICS = [
  UNIT_ACTIVE,
  UNIT_RESTART_COUNT,
  UNIT_STARTS,
  UNIT_LAST_EXIT_STATUS,
  UNIT_SECONDS_SINCE_ACTIVE,
  UNIT_LOADED,
  UNIT_FAILED,
  UNIT_FAILURES,
  UNIT_LAST_FAILURE,
  UNIT_RELOADS,
  UNIT_RELOAD_FAILED,
  UNIT_CONDITION_MET,
  FAILED_UNITS,
  TIMER_LAST_TRIGGER,
  TIMER_INTERVAL,
  TIMER_NEXT_ELAPSE,
  TIMER_LAST_SUCCESS,
  TIMER_LAST_RESULT,
  TIMER_RUNS,
  HEARTBEAT_LAST_RUN,
  HEARTBEAT_COLLECT_DURATION,
  HEARTBEAT_UNITS,
  HEARTBEAT_COLLECT_ERRORS,
  HEARTBEAT_SPOOLED_RUNS,
  HEARTBEAT_SPOOL_DROPPED,
  HEARTBEAT_JOURNAL_READABLE,
] as const satisfies readonly MetricDefinition[];

export type MetricName = (typeof METRICS)[number]['name'];

export const METRIC_NAMES: ReadonlySet<string> = new Set(METRICS.map((m) => m.name));

export function findMetric(name: string): MetricDefinition | undefined {
  return METRICS.find((m) => m.name === name);
}
