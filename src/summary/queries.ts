/**
 * Pure, but for `runQueries`, which only hands the rendered queries to the Prometheus API edge:
 * the report's window and the MetricsQL behind each of its sections.
 */
import { RESTART_WINDOW, STALE_FACTOR } from '../thresholds.ts';
import {
  HEARTBEAT_LAST_RUN,
  HEARTBEAT_UNITS,
  TIMER_INTERVAL,
  TIMER_LAST_RESULT,
  TIMER_LAST_SUCCESS,
  TIMER_LAST_TRIGGER,
  TIMER_RUNS,
  UNIT_FAILED,
  UNIT_FAILURES,
  UNIT_LAST_EXIT_STATUS,
  UNIT_LAST_FAILURE,
  UNIT_RELOADS,
  UNIT_LOADED,
  UNIT_RESTART_COUNT,
  UNIT_SECONDS_SINCE_ACTIVE,
  UNIT_STARTS,
} from '../metrics/definitions.ts';
import type { InstantSeries, PrometheusApi, RangeSeries } from '../vm/prometheus-api.ts';

/**
 * Range queries keep at most this many steps: -search.maxPointsPerTimeseries is 30k by default,
 * and a week at 30 s is 20k points per failing series. Longer windows get a coarser step.
 */
export const MAX_STEPS = 3000;

export interface SummaryWindow {
  /** The --since text, for the verdict ("in the last 24h"). */
  readonly since: string;
  /** Unix seconds. `end` is when the report was asked for; start = end - steps * step. */
  readonly start: number;
  readonly end: number;
  /** Range-query step in seconds: the exporter's interval, coarser for long windows. */
  readonly step: number;
  readonly intervalSeconds: number;
}

export function planWindow(since: string, sinceSeconds: number, nowSeconds: number, intervalSeconds: number): SummaryWindow {
  const step = Math.max(intervalSeconds, Math.ceil(sinceSeconds / MAX_STEPS));
  const steps = Math.ceil(sinceSeconds / step);
  const end = Math.floor(nowSeconds);
  return { since, start: end - steps * step, end, step, intervalSeconds };
}

export type QueryKind = 'instant' | 'range';

export interface SummaryQuery {
  readonly kind: QueryKind;
  /** MetricsQL with `$host` (a regex), `$window` and `$step` (durations) to fill in. */
  readonly query: string;
}

const sel = (metric: string, extra = ''): string => `${metric}{host=~"$host"${extra}}`;
const TIMER_UNITS = ', unit=~".+[.]timer"';

/**
 * The MetricsQL behind each section. Range queries run from the window's start to its end every
 * `$step`; instant queries at the end. Every lookbehind is an explicit `[$step]` or `[$window]`:
 * a bare selector would let a series whose label value flipped (result, load_state) linger for
 * VictoriaMetrics' staleness interval, because a pushing exporter sends no staleness markers.
 * Comparison filters keep only the interesting points, so the answer grows with the problems,
 * not with the number of units.
 */
export const SUMMARY_QUERIES = {
  /** Exporter runs that arrived in the window, per host. */
  runs: { kind: 'instant', query: `count_over_time(${sel(HEARTBEAT_LAST_RUN.name)}[$window])` },
  /** Allowlisted units the exporter observed, as of its last run in the window. */
  units: { kind: 'instant', query: `last_over_time(${sel(HEARTBEAT_UNITS.name)}[$window])` },
  /** Time of the first and of the last run in each step: together they give every gap longer than a step exactly. */
  firstRuns: { kind: 'range', query: `tfirst_over_time(${sel(HEARTBEAT_LAST_RUN.name)}[$step])` },
  lastRuns: { kind: 'range', query: `tlast_over_time(${sel(HEARTBEAT_LAST_RUN.name)}[$step])` },
  /** Steps in which a unit was seen failed; `result` says how. */
  failed: { kind: 'range', query: `max_over_time(${sel(UNIT_FAILED.name)}[$step]) == 1` },
  /** The exit status (or signal) in those steps. */
  failedExitStatus: {
    kind: 'range',
    query: `last_over_time(${sel(UNIT_LAST_EXIT_STATUS.name)}[$step]) and on(host, unit) (max_over_time(${sel(UNIT_FAILED.name)}[$step]) == 1)`,
  },
  /**
   * Restarts per step, counted as SystemdUnitRestartLoop counts them: NRestarts (automatic
   * restarts), or, for a unit whose main process exited non-zero within RESTART_WINDOW, every
   * start the exporter saw (a unit restarted from outside); the larger of the two. increase()
   * handles counter resets (NRestarts resets on a manual start, systemd#6495). Each `and ...
   * offset $step` drops a series' first step: increase() counts a new series' first small value
   * as growth from 0, so a host that joins with NRestarts=7 would show 7.
   */
  restarts: {
    kind: 'range',
    query:
      `max by (host, unit) (` +
      `label_set(increase(${sel(UNIT_RESTART_COUNT.name)}[$step]) > 0 and last_over_time(${sel(UNIT_RESTART_COUNT.name)}[$window] offset $step), "counter", "nrestarts")` +
      ` or label_set(increase(${sel(UNIT_STARTS.name)}[$step]) > 0 and last_over_time(${sel(UNIT_STARTS.name)}[$window] offset $step)` +
      ` and on(host, unit) (max_over_time(${sel(UNIT_LAST_EXIT_STATUS.name)}[${RESTART_WINDOW}s]) > 0), "counter", "starts"))`,
  },
  /** Steps in which an allowlisted unit was not loaded (not-found, masked, bad-setting, error). */
  missing: { kind: 'range', query: `max_over_time(${sel(UNIT_LOADED.name)}[$step]) == 0` },
  /** Steps in which a timer's last trigger was older than STALE_FACTOR of its own interval. */
  staleTimers: {
    kind: 'range',
    query: `last_over_time(${sel(UNIT_SECONDS_SINCE_ACTIVE.name, TIMER_UNITS)}[$step]) > on(host, unit) (${STALE_FACTOR} * last_over_time(${sel(TIMER_INTERVAL.name)}[$step]))`,
  },
  /** Loaded timers (to find those that never fired). */
  timers: { kind: 'instant', query: `last_over_time(${sel(UNIT_LOADED.name, TIMER_UNITS)}[$window]) == 1` },
  timerLastTrigger: { kind: 'instant', query: `last_over_time(${sel(TIMER_LAST_TRIGGER.name)}[$window])` },
  timerInterval: { kind: 'instant', query: `last_over_time(${sel(TIMER_INTERVAL.name)}[$window])` },
  /**
   * Finished runs of each timer's job in the window, by result. increase() (not
   * increase_prometheus) so that a result series born inside the window (the first exit-code
   * run) counts its first run: the exporter starts every result's counter at its first run.
   */
  timerJobRuns: { kind: 'instant', query: `increase(${sel(TIMER_RUNS.name)}[$window])` },
  /** The remembered last success: pushed every run once known, so it is there even when older than the window. */
  timerJobLastSuccess: { kind: 'instant', query: `last_over_time(${sel(TIMER_LAST_SUCCESS.name)}[$window])` },
  /** When each result series was last seen: the latest one is the job's latest result (one series at a time). */
  timerJobLastResult: { kind: 'instant', query: `tlast_over_time(${sel(TIMER_LAST_RESULT.name)}[$window])` },
  /**
   * Failures in the window by unit and result, from PID 1's journal (each crash Restart=
   * recovered counts); increase() so that a result series born inside the window counts its
   * first failure (the exporter starts each at its first failure). Zeros are dropped.
   */
  unitFailures: { kind: 'instant', query: `increase(${sel(UNIT_FAILURES.name)}[$window]) > 0` },
  /** The remembered time of each unit's latest failure. */
  unitLastFailure: { kind: 'instant', query: `last_over_time(${sel(UNIT_LAST_FAILURE.name)}[$window])` },
  /** Reload jobs that did not end well (JOB_RESULT other than done), by unit. */
  failedReloads: { kind: 'instant', query: `sum by (host, unit) (increase(${sel(UNIT_RELOADS.name, ', result!="done"')}[$window])) > 0` },
} as const satisfies Record<string, SummaryQuery>;

export type QueryName = keyof typeof SUMMARY_QUERIES;

export type QueryResults = { [K in QueryName]: (typeof SUMMARY_QUERIES)[K]['kind'] extends 'range' ? RangeSeries[] : InstantSeries[] };

/** The host as an anchored MetricsQL regex inside a double-quoted string; `.+` for every host. */
export function hostMatcher(host: string | undefined): string {
  if (host === undefined) return '.+';
  const regex = host.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
  return regex.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

/** A query with its placeholders filled in, as it is sent (and as an operator would paste it). */
export function renderQuery(query: string, window: SummaryWindow, host: string | undefined): string {
  return query
    .replaceAll('$host', hostMatcher(host))
    .replaceAll('$window', `${window.end - window.start}s`)
    .replaceAll('$step', `${window.step}s`);
}

/**
 * At most this many queries at once: each answer is read whole before it is parsed, so this
 * bounds the memory a run can take (MAX_ANSWER_BYTES each) as well as the load on VictoriaMetrics.
 */
export const QUERY_CONCURRENCY = 4;

/** Edge orchestration: every query, QUERY_CONCURRENCY at a time, sharing the API's one deadline. */
export async function runQueries(api: PrometheusApi, window: SummaryWindow, host: string | undefined): Promise<QueryResults> {
  const names = Object.keys(SUMMARY_QUERIES) as QueryName[];
  const answers: Array<InstantSeries[] | RangeSeries[]> = new Array(names.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) {
      const i = next++;
      const { kind, query } = SUMMARY_QUERIES[names[i] as QueryName];
      const q = renderQuery(query, window, host);
      answers[i] = kind === 'range' ? await api.queryRange(q, window.start, window.end, window.step) : await api.query(q, window.end);
    }
  };
  await Promise.all(Array.from({ length: Math.min(QUERY_CONCURRENCY, names.length) }, worker));
  return Object.fromEntries(names.map((name, i) => [name, answers[i]])) as QueryResults;
}
