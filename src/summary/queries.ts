/**
 * Pure, but for `runQueries`, which only hands the rendered queries to the Prometheus API edge:
 * the report's window and the MetricsQL behind each of its sections.
 */
import { GAP_INTERVALS, RESTART_WINDOW, STALE_FACTOR } from '../thresholds.ts';
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
 * not with the number of units. Every grouping and join keeps vm_account_id and vm_project_id
 * (vmagent's multitenant handlers add them): one host name in two tenants is two hosts.
 */
export const SUMMARY_QUERIES = {
  /** Exporter runs that arrived in the window, per host. */
  runs: { kind: 'instant', query: `count_over_time(${sel(HEARTBEAT_LAST_RUN.name)}[$window])` },
  /** Allowlisted units the exporter observed, as of its last run in the window. */
  units: { kind: 'instant', query: `last_over_time(${sel(HEARTBEAT_UNITS.name)}[$window])` },
  /**
   * Coverage, aggregated by VictoriaMetrics per host: the first and last run in the window, a
   * run in the step before it (the host was watched before the window), and the time covered by
   * runs at most a gap limit ($gap) apart. (last - first) - covered is the length of the gaps
   * inside the window: only a host with a gap has its runs fetched step by step (GAP_QUERIES).
   */
  coverageFirst: { kind: 'instant', query: `tfirst_over_time(${sel(HEARTBEAT_LAST_RUN.name)}[$window])` },
  coverageLast: { kind: 'instant', query: `tlast_over_time(${sel(HEARTBEAT_LAST_RUN.name)}[$window])` },
  coverageCovered: { kind: 'instant', query: `duration_over_time(${sel(HEARTBEAT_LAST_RUN.name)}[$window], $gap)` },
  coverageBefore: { kind: 'instant', query: `count_over_time(${sel(HEARTBEAT_LAST_RUN.name)}[$step] offset $window)` },
  /** Steps in which a unit was seen failed; `result` says how. */
  failed: { kind: 'range', query: `max_over_time(${sel(UNIT_FAILED.name)}[$step]) == 1` },
  /** The exit status (or signal) in those steps. */
  failedExitStatus: {
    kind: 'range',
    query: `last_over_time(${sel(UNIT_LAST_EXIT_STATUS.name)}[$step]) and on(host, vm_account_id, vm_project_id, unit) (max_over_time(${sel(UNIT_FAILED.name)}[$step]) == 1)`,
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
      `max by (host, vm_account_id, vm_project_id, unit) (` +
      `label_set(increase(${sel(UNIT_RESTART_COUNT.name)}[$step]) > 0 and last_over_time(${sel(UNIT_RESTART_COUNT.name)}[$window] offset $step), "counter", "nrestarts")` +
      ` or label_set(increase(${sel(UNIT_STARTS.name)}[$step]) > 0 and last_over_time(${sel(UNIT_STARTS.name)}[$window] offset $step)` +
      ` and on(host, vm_account_id, vm_project_id, unit) (max_over_time(${sel(UNIT_LAST_EXIT_STATUS.name)}[${RESTART_WINDOW}s]) > 0), "counter", "starts"))`,
  },
  /** Steps in which an allowlisted unit was not loaded (not-found, masked, bad-setting, error). */
  missing: { kind: 'range', query: `max_over_time(${sel(UNIT_LOADED.name)}[$step]) == 0` },
  /** Steps in which a timer's last trigger was older than STALE_FACTOR of its own interval. */
  staleTimers: {
    kind: 'range',
    query: `last_over_time(${sel(UNIT_SECONDS_SINCE_ACTIVE.name, TIMER_UNITS)}[$step]) > on(host, vm_account_id, vm_project_id, unit) (${STALE_FACTOR} * last_over_time(${sel(TIMER_INTERVAL.name)}[$step]))`,
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
  failedReloads: {
    kind: 'instant',
    query: `sum by (host, vm_account_id, vm_project_id, unit) (increase(${sel(UNIT_RELOADS.name, ', result!="done"')}[$window])) > 0`,
  },
} as const satisfies Record<string, SummaryQuery>;

/**
 * Only for the hosts with a gap ($host is then those hosts): the time of the first and of the
 * last run in each step, which together give every gap longer than a step exactly.
 */
export const GAP_QUERIES = {
  firstRuns: { kind: 'range', query: `tfirst_over_time(${sel(HEARTBEAT_LAST_RUN.name)}[$step])` },
  lastRuns: { kind: 'range', query: `tlast_over_time(${sel(HEARTBEAT_LAST_RUN.name)}[$step])` },
} as const satisfies Record<string, SummaryQuery>;

export type QueryName = keyof typeof SUMMARY_QUERIES;
type GapQueryName = keyof typeof GAP_QUERIES;
type AllQueries = typeof SUMMARY_QUERIES & typeof GAP_QUERIES;

export type QueryResults = {
  [K in QueryName | GapQueryName]: AllQueries[K]['kind'] extends 'range' ? RangeSeries[] : InstantSeries[];
};

/** A host's coverage as VictoriaMetrics aggregated it (unix seconds; undefined: no run in the window). */
export interface CoverageAggregate {
  readonly first: number | undefined;
  readonly last: number | undefined;
  readonly covered: number;
  readonly before: boolean;
}

/** The longest silence between two runs that is not a gap. */
export function gapLimit(w: SummaryWindow): number {
  return GAP_INTERVALS * w.intervalSeconds;
}

/**
 * Pure: whether a host's gaps must be fetched step by step: it has no run in the window, or a
 * gap at the window's start (watched before it), inside it, or at its end.
 */
export function needsGapDetail(c: CoverageAggregate, w: SummaryWindow): boolean {
  if (c.first === undefined || c.last === undefined) return true;
  const limit = gapLimit(w);
  if (c.before && c.first - w.start > limit) return true;
  if (w.end - c.last > limit) return true;
  // Gaps inside add up to (last - first) - covered; each is longer than the limit, so a second is noise.
  return c.last - c.first - c.covered > 1;
}

/** The host as an anchored MetricsQL regex inside a double-quoted string; `.+` for every host. */
export function hostMatcher(host: string | undefined): string {
  if (host === undefined) return '.+';
  const regex = host.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
  return regex.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

/**
 * A query with its placeholders filled in, as it is sent (and as an operator would paste it).
 * `tenant` (`ACCOUNT:PROJECT`, --tenant) keeps only the series vmagent's multitenant handlers
 * labelled with that tenant (vm_account_id, vm_project_id).
 */
export function renderQuery(query: string, window: SummaryWindow, host: string | undefined, tenant?: string): string {
  const [account, project] = (tenant ?? '').split(':');
  const scoped =
    tenant === undefined
      ? query
      : query.replaceAll('host=~"$host"', `host=~"$host", vm_account_id="${account}", vm_project_id="${project ?? '0'}"`);
  return scoped
    .replaceAll('$host', hostMatcher(host))
    .replaceAll('$window', `${window.end - window.start}s`)
    .replaceAll('$step', `${window.step}s`)
    .replaceAll('$gap', `${gapLimit(window)}s`);
}

/**
 * At most this many queries at once: each answer is read whole before it is parsed, so this
 * bounds the memory a run can take (MAX_ANSWER_BYTES each) as well as the load on VictoriaMetrics.
 */
export const QUERY_CONCURRENCY = 4;

/** The key a host's series are grouped by: its name, and its tenant where vmagent's multitenant handlers labelled it. */
export function hostKey(labels: Readonly<Record<string, string>>): string {
  const host = labels['host'] ?? '';
  const account = labels['vm_account_id'];
  return account === undefined ? host : `${host}\u0000${account}:${labels['vm_project_id'] ?? '0'}`;
}

/** A hostKey back to the host's name and tenant. */
export function splitHostKey(key: string): { host: string; tenant: string | undefined } {
  const [host, tenant] = key.split('\u0000') as [string, string | undefined];
  return { host, tenant };
}

/** Pure: each host's aggregated coverage, by hostKey. */
export function coverageAggregates(
  r: Pick<QueryResults, 'coverageFirst' | 'coverageLast' | 'coverageCovered' | 'coverageBefore'>,
): Map<string, CoverageAggregate> {
  const value = (series: readonly InstantSeries[]): Map<string, number> => new Map(series.map((s) => [hostKey(s.labels), s.value]));
  const [first, last, covered, before] = [r.coverageFirst, r.coverageLast, r.coverageCovered, r.coverageBefore].map(value) as [
    Map<string, number>,
    Map<string, number>,
    Map<string, number>,
    Map<string, number>,
  ];
  const out = new Map<string, CoverageAggregate>();
  for (const key of new Set([...first.keys(), ...last.keys(), ...before.keys()])) {
    out.set(key, { first: first.get(key), last: last.get(key), covered: covered.get(key) ?? 0, before: (before.get(key) ?? 0) > 0 });
  }
  return out;
}

/** An anchored MetricsQL regex matching any of `hosts`, inside a double-quoted string. */
export function hostsMatcher(hosts: readonly string[]): string {
  return `(?:${hosts.map((h) => hostMatcher(h)).join('|')})`;
}

/**
 * Edge orchestration: every query, QUERY_CONCURRENCY at a time, sharing the API's one deadline;
 * then the step-by-step runs of only the hosts with a gap.
 */
export async function runQueries(
  api: PrometheusApi,
  window: SummaryWindow,
  host: string | undefined,
  tenant?: string,
): Promise<QueryResults> {
  const first = await runAll(api, window, SUMMARY_QUERIES, (q) => renderQuery(q, window, host, tenant));
  const aggregates = coverageAggregates(
    first as Pick<QueryResults, 'coverageFirst' | 'coverageLast' | 'coverageCovered' | 'coverageBefore'>,
  );
  const gapped = [...aggregates].filter(([, c]) => needsGapDetail(c, window)).map(([key]) => splitHostKey(key).host);
  // A --host with no run in the window (in any tenant): its (empty) steps say so.
  if (host !== undefined && ![...aggregates.keys()].some((key) => splitHostKey(key).host === host)) gapped.push(host);
  const names = [...new Set(gapped)];
  const gaps =
    names.length === 0
      ? { firstRuns: [], lastRuns: [] }
      : await runAll(api, window, GAP_QUERIES, (q) =>
          renderQuery(q, window, undefined, tenant).replaceAll(`host=~"${hostMatcher(undefined)}"`, `host=~"${hostsMatcher(names)}"`),
        );
  return { ...first, ...gaps } as QueryResults;
}

async function runAll(
  api: PrometheusApi,
  window: SummaryWindow,
  queries: Readonly<Record<string, SummaryQuery>>,
  render: (query: string) => string,
): Promise<Record<string, InstantSeries[] | RangeSeries[]>> {
  const names = Object.keys(queries);
  const answers: Array<InstantSeries[] | RangeSeries[]> = new Array(names.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) {
      const i = next++;
      const { kind, query } = queries[names[i] as string] as SummaryQuery;
      const q = render(query);
      answers[i] = kind === 'range' ? await api.queryRange(q, window.start, window.end, window.step) : await api.query(q, window.end);
    }
  };
  await Promise.all(Array.from({ length: Math.min(QUERY_CONCURRENCY, names.length) }, worker));
  return Object.fromEntries(names.map((name, i) => [name, answers[i] as InstantSeries[] | RangeSeries[]]));
}
