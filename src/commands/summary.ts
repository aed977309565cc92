/**
 * `summary`: the daily-operational report. "What went wrong with my units in the last day?"
 * asked of VictoriaMetrics, answered as text, markdown (paste into a chat or ticket) or JSON.
 *
 * Pure middle: argv -> SummaryArgs; window + queries (named MetricsQL constants, shown in
 * README "Daily summary"); query results -> Summary (findings per host) -> text. The only I/O
 * is the config file read and the Prometheus API edge (src/vm/prometheus-api.ts), both made in
 * `summaryCommand` and injectable.
 */
import { readFileIfExists } from '../read-file.ts';
import { hostname } from 'node:os';
import { parseFlags, type FlagSpec } from '../args.ts';
import { parseTimeout, resolveConfig } from '../config.ts';
import { DEFAULT_PERIOD_SECONDS } from '../defaults.ts';
import { formatDuration, parseDuration } from '../duration.ts';
import { EXIT, HeartbeatError, describeError, usageError } from '../errors.ts';
import type { CommandContext } from './context.ts';
import {
  HEARTBEAT_LAST_RUN,
  HEARTBEAT_UNITS,
  TIMER_INTERVAL,
  TIMER_LAST_RESULT,
  TIMER_LAST_SUCCESS,
  TIMER_LAST_TRIGGER,
  TIMER_RUNS,
  UNIT_FAILED,
  UNIT_LAST_EXIT_STATUS,
  UNIT_LOADED,
  UNIT_RESTART_COUNT,
  UNIT_SECONDS_SINCE_ACTIVE,
} from '../metrics/definitions.ts';
import {
  createPrometheusApi,
  splitCredentials,
  type InstantSeries,
  type PrometheusApi,
  type PrometheusApiOptions,
  type RangeSeries,
} from '../vm/prometheus-api.ts';

/** Exit code when the report found a problem (or no data): a cron job or timer can act on it. */
export const EXIT_PROBLEMS = 3;

export const SUMMARY_DEFAULTS = {
  since: '24h',
  /** The exporter timer's period (install's default); `--interval` when yours differs. */
  intervalSeconds: DEFAULT_PERIOD_SECONDS,
  /** Queries of a busy day take longer than one push, hence more than run's 5 s. */
  timeoutMs: 10_000,
  /** Rows per section in text and markdown; JSON always lists everything. */
  limit: 20,
} as const;

/** A gap between two exporter runs longer than this many intervals is reported (the issue's rule). */
export const GAP_INTERVALS = 3;
/** Coverage under this fraction of the expected runs is a problem even without a long gap. */
export const MIN_COVERAGE = 0.9;
/** A restart loop: at least this many automatic restarts ... */
export const LOOP_RESTARTS = 5;
/** ... within this many seconds. */
export const LOOP_SPAN_SECONDS = 600;
/** A timer is stale when its last trigger is older than this many of its own intervals (the alert's factor). */
export const STALE_FACTOR = 2;
/**
 * Range queries keep at most this many steps: -search.maxPointsPerTimeseries is 30k by default,
 * and a week at 30 s is 20k points per failing series. Longer windows get a coarser step.
 */
export const MAX_STEPS = 3000;

export const SUMMARY_USAGE = `Usage: systemd-heartbeat summary [options]

Reports, per host, what went wrong with the watched units in a recent window, from the
metrics stored in VictoriaMetrics: failed units, restarts and restart loops, stale or
never-fired timers, timer jobs' runs by result (a job that failed every run is a problem),
allowlisted units that are not loaded, and the exporter's own coverage.

Options:
      --since DUR      the window, ending now: 90s, 10m, 24h, 7d, 1h30m (default 24h, 1m to 31d)
      --host NAME      only this host (default: every host that sent data in the window)
      --format FMT     text (default), markdown or json
      --vm-url URL     VictoriaMetrics' query URL (default: scheme, host and port of the push
                       endpoint); user:password in it becomes Basic auth
      --timeout DUR    bound on all queries together (default 10s, 100ms to 25s)
      --limit N        rows per section in text and markdown (default 20, 0 = all)
      --interval DUR   the exporter's period, for coverage and gaps (default 30s)
      --config PATH, --endpoint URL, --header K=V   as for run: the push endpoint and its
                       headers (Authorization, the otlp-token credential) are reused
  -h, --help           this text

Exit codes: 0 healthy, 3 problems found or no data for the host(s), 1 VictoriaMetrics
cannot be queried, 2 usage or configuration error.`;

export type SummaryFormat = 'text' | 'markdown' | 'json';

export interface SummaryArgs {
  readonly since: string;
  readonly sinceSeconds: number;
  readonly host: string | undefined;
  readonly format: SummaryFormat;
  readonly vmUrl: string | undefined;
  readonly timeoutMs: number;
  readonly limit: number;
  readonly intervalSeconds: number;
  /** Test-only (`--now UNIX_SECONDS`, not in --help): the window's end, for deterministic output. */
  readonly now: number | undefined;
  readonly config: string | undefined;
  readonly endpoint: string | undefined;
  readonly headers: readonly string[];
  readonly help: boolean;
}

/** A window or period in whole seconds within [min, max]: the one duration grammar. */
function parseSeconds(value: string, field: string, min: number, max: number): number {
  return parseDuration(value, { field, minMs: min * 1000, maxMs: max * 1000, wholeSeconds: true }) / 1000;
}

const SUMMARY_FLAGS: Readonly<Record<string, FlagSpec>> = {
  '--since': { kind: 'value' },
  '--host': { kind: 'value' },
  '--format': { kind: 'value' },
  '--vm-url': { kind: 'value' },
  '--timeout': { kind: 'value' },
  '--limit': { kind: 'value' },
  '--interval': { kind: 'value' },
  '--now': { kind: 'value' },
  '--config': { kind: 'value' },
  '--endpoint': { kind: 'value' },
  '--header': { kind: 'list' },
  '--help': { kind: 'switch', aliases: ['-h'] },
};

export function parseSummaryArgs(argv: readonly string[]): SummaryArgs {
  const flags = parseFlags(argv, SUMMARY_FLAGS, { command: 'summary', help: 'summary --help' });
  const values = flags.values;
  const headers = flags.lists.get('--header') ?? [];
  const help = flags.switches.includes('--help');
  const since = values.get('--since') ?? SUMMARY_DEFAULTS.since;
  const format = values.get('--format') ?? 'text';
  if (format !== 'text' && format !== 'markdown' && format !== 'json') {
    throw usageError(`--format: ${JSON.stringify(format)} must be text, markdown or json`);
  }
  const host = values.get('--host');
  if (host === '') throw usageError('--host must not be empty');
  const limitText = values.get('--limit');
  const limit = limitText === undefined ? SUMMARY_DEFAULTS.limit : Number(limitText);
  if (!Number.isInteger(limit) || limit < 0 || limitText?.trim() === '') {
    throw usageError(`--limit: ${JSON.stringify(limitText)} must be a whole number (0 shows all)`);
  }
  const nowText = values.get('--now');
  const now = nowText === undefined ? undefined : Number(nowText);
  if (now !== undefined && !(Number.isFinite(now) && now > 0)) throw usageError(`--now: ${JSON.stringify(nowText)} must be unix seconds`);
  const timeout = values.get('--timeout');
  const interval = values.get('--interval');
  return {
    since,
    sinceSeconds: parseSeconds(since, '--since', 60, 31 * 86_400),
    host,
    format,
    vmUrl: values.get('--vm-url'),
    timeoutMs: timeout === undefined ? SUMMARY_DEFAULTS.timeoutMs : parseTimeout(timeout, '--timeout', 's'),
    limit,
    intervalSeconds: interval === undefined ? SUMMARY_DEFAULTS.intervalSeconds : parseSeconds(interval, '--interval', 1, 3600),
    now,
    config: values.get('--config'),
    endpoint: values.get('--endpoint'),
    headers,
    help,
  };
}

// ---------------------------------------------------------------------------------------------
// The window and the queries

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
   * Automatic restarts per step. increase() handles counter resets (NRestarts resets on a manual
   * start, systemd#6495). The `and` drops a series' first step: increase() counts a new series'
   * first small value as growth from 0, so a host that joins with NRestarts=7 would show 7.
   */
  restarts: {
    kind: 'range',
    query: `increase(${sel(UNIT_RESTART_COUNT.name)}[$step]) > 0 and last_over_time(${sel(UNIT_RESTART_COUNT.name)}[$window] offset $step)`,
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

/** Edge orchestration: every query at once, sharing the API's one deadline. */
export async function runQueries(api: PrometheusApi, window: SummaryWindow, host: string | undefined): Promise<QueryResults> {
  const names = Object.keys(SUMMARY_QUERIES) as QueryName[];
  const answers = await Promise.all(
    names.map((name) => {
      const { kind, query } = SUMMARY_QUERIES[name];
      const q = renderQuery(query, window, host);
      return kind === 'range' ? api.queryRange(q, window.start, window.end, window.step) : api.query(q, window.end);
    }),
  );
  return Object.fromEntries(names.map((name, i) => [name, answers[i]])) as QueryResults;
}

// ---------------------------------------------------------------------------------------------
// Findings

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
  /** At least LOOP_RESTARTS restarts in the LOOP_SPAN_SECONDS before the host's last run. */
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
  /** Unix seconds of the last success the exporter remembers (may be before the window); null when none was seen. */
  readonly lastSuccessAt: number | null;
  /** The Result of the latest finished run seen in the window; null when none. */
  readonly lastResult: string | null;
  /** It ran in the window and failed every time: a problem even when no alert fired (it may not have failed long enough for one). */
  readonly problem: boolean;
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
  readonly lastRunAt: number | null;
  readonly gaps: readonly Gap[];
  readonly problem: boolean;
}

export interface HostSummary {
  readonly host: string;
  readonly noData: boolean;
  /** Allowlisted units the exporter observed at its last run in the window. */
  readonly units: number | null;
  readonly problems: number;
  readonly failed: readonly FailedUnit[];
  readonly restarts: readonly UnitRestarts[];
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

function hostOf(s: { labels: Readonly<Record<string, string>> }): string {
  return s.labels['host'] ?? '';
}

function unitOf(s: { labels: Readonly<Record<string, string>> }): string {
  return s.labels['unit'] ?? '';
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = map.get(k);
    if (list) list.push(item);
    else map.set(k, [item]);
  }
  return map;
}

/** Points of several series as one time-sorted list, each with its series' labels. */
function pointsOf(series: readonly RangeSeries[]): Array<{ time: number; value: number; labels: Readonly<Record<string, string>> }> {
  return series
    .flatMap((s) => s.times.map((time, i) => ({ time, value: s.values[i] as number, labels: s.labels })))
    .sort((a, b) => a.time - b.time);
}

/** Tolerance for comparing step times that went through a float (seconds with ms digits). */
const EPS = 0.001;

function byUnit<T extends { unit: string }>(a: T, b: T): number {
  return a.unit < b.unit ? -1 : a.unit > b.unit ? 1 : 0;
}

function coverageOf(host: string, r: QueryResults, w: SummaryWindow): { coverage: Coverage; lastRunStep: number | null } {
  const runs = r.runs.find((s) => hostOf(s) === host)?.value ?? 0;
  const firsts = new Map<number, number>();
  for (const s of r.firstRuns.filter((x) => hostOf(x) === host)) {
    for (const [i, t] of s.times.entries()) firsts.set(t, s.values[i] as number);
  }
  const buckets = r.lastRuns
    .filter((x) => hostOf(x) === host)
    .flatMap((s) => s.times.map((t, i) => ({ step: t, first: firsts.get(t) ?? (s.values[i] as number), last: s.values[i] as number })))
    .sort((a, b) => a.step - b.step);
  const limit = GAP_INTERVALS * w.intervalSeconds;
  const gaps: Gap[] = [];
  // The step at the window's start holds the run just before it, if any: a gap is measured from there.
  let previous: number = w.start;
  for (const b of buckets) {
    if (b.first - previous > limit + EPS) gaps.push({ from: previous, to: b.first, seconds: round(b.first - previous), ongoing: false });
    previous = Math.max(previous, b.last);
  }
  if (w.end - previous > limit + EPS) gaps.push({ from: previous, to: w.end, seconds: round(w.end - previous), ongoing: true });
  const lastBucket = buckets.at(-1);
  const expectedRuns = Math.max(1, Math.floor((w.end - w.start) / w.intervalSeconds));
  const fraction = Math.min(1, runs / expectedRuns);
  return {
    coverage: {
      runs,
      expectedRuns,
      fraction,
      lastRunAt: lastBucket?.last ?? null,
      gaps,
      problem: gaps.length > 0 || fraction < MIN_COVERAGE,
    },
    lastRunStep: lastBucket?.step ?? null,
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function failedOf(host: string, r: QueryResults, w: SummaryWindow, lastStep: number): FailedUnit[] {
  const exit = groupBy(
    r.failedExitStatus.filter((s) => hostOf(s) === host),
    unitOf,
  );
  const out: FailedUnit[] = [];
  for (const [unit, series] of groupBy(
    r.failed.filter((s) => hostOf(s) === host),
    unitOf,
  )) {
    const all = pointsOf(series);
    const inWindow = all.filter((p) => p.time > w.start + EPS);
    const first = inWindow[0];
    const last = inWindow.at(-1);
    if (!first || !last) continue;
    const exitPoints = pointsOf(exit.get(unit) ?? []).filter((p) => p.time > w.start + EPS);
    out.push({
      unit,
      result: last.labels['result'] ?? '',
      exitStatus: exitPoints.at(-1)?.value ?? null,
      firstFailedAt: first.time,
      lastFailedAt: last.time,
      failedBeforeWindow: all[0] !== undefined && all[0].time <= w.start + EPS,
      stillFailed: last.time >= lastStep - EPS,
    });
  }
  // Still failed first, then by name.
  return out.sort((a, b) => Number(b.stillFailed) - Number(a.stillFailed) || byUnit(a, b));
}

/** Merged intervals in which some LOOP_SPAN_SECONDS held at least LOOP_RESTARTS restarts. */
export function findLoops(points: ReadonlyArray<{ time: number; value: number }>): RestartLoop[] {
  const loops: Array<{ from: number; to: number }> = [];
  let lo = 0;
  let inSpan = 0;
  for (let hi = 0; hi < points.length; hi++) {
    const p = points[hi] as { time: number; value: number };
    inSpan += p.value;
    while ((points[lo] as { time: number }).time <= p.time - LOOP_SPAN_SECONDS + EPS) inSpan -= (points[lo++] as { value: number }).value;
    if (inSpan < LOOP_RESTARTS) continue;
    const from = (points[lo] as { time: number }).time;
    const prev = loops.at(-1);
    if (prev && from <= prev.to + EPS) prev.to = p.time;
    else loops.push({ from, to: p.time });
  }
  return loops.map(({ from, to }) => ({
    from,
    to,
    restarts: points.filter((p) => p.time >= from - EPS && p.time <= to + EPS).reduce((sum, p) => sum + p.value, 0),
  }));
}

function restartsOf(host: string, r: QueryResults, w: SummaryWindow, lastStep: number): UnitRestarts[] {
  const out: UnitRestarts[] = [];
  for (const [unit, series] of groupBy(
    r.restarts.filter((s) => hostOf(s) === host),
    unitOf,
  )) {
    const points = pointsOf(series).filter((p) => p.time > w.start + EPS);
    const last = points.at(-1);
    if (!last) continue;
    const restarts = round(points.reduce((sum, p) => sum + p.value, 0));
    const recent = points.filter((p) => p.time > lastStep - LOOP_SPAN_SECONDS + EPS && p.time <= lastStep + EPS);
    out.push({
      unit,
      restarts,
      lastRestartAt: last.time,
      loops: findLoops(points),
      looping: recent.reduce((sum, p) => sum + p.value, 0) >= LOOP_RESTARTS,
    });
  }
  return out.sort((a, b) => Number(b.looping) - Number(a.looping) || b.restarts - a.restarts || byUnit(a, b));
}

function missingOf(host: string, r: QueryResults, w: SummaryWindow, lastStep: number): MissingUnit[] {
  const out: MissingUnit[] = [];
  for (const [unit, series] of groupBy(
    r.missing.filter((s) => hostOf(s) === host),
    unitOf,
  )) {
    const all = pointsOf(series);
    const points = all.filter((p) => p.time > w.start + EPS);
    const first = points[0];
    const last = points.at(-1);
    if (!first || !last) continue;
    out.push({
      unit,
      loadState: last.labels['load_state'] ?? '',
      firstSeenAt: first.time,
      lastSeenAt: last.time,
      missingBeforeWindow: all[0] !== undefined && all[0].time <= w.start + EPS,
      stillMissing: last.time >= lastStep - EPS,
    });
  }
  return out.sort((a, b) => Number(b.stillMissing) - Number(a.stillMissing) || byUnit(a, b));
}

function timersOf(host: string, r: QueryResults, w: SummaryWindow, lastStep: number): TimerFinding[] {
  const valueByUnit = (series: readonly InstantSeries[]): Map<string, number> =>
    new Map(series.filter((s) => hostOf(s) === host).map((s) => [unitOf(s), s.value]));
  const lastTrigger = valueByUnit(r.timerLastTrigger);
  const interval = valueByUnit(r.timerInterval);
  const out: TimerFinding[] = [];
  const stale = groupBy(
    r.staleTimers.filter((s) => hostOf(s) === host),
    unitOf,
  );
  for (const [unit, series] of stale) {
    const points = pointsOf(series).filter((p) => p.time > w.start + EPS);
    const first = points[0];
    const last = points.at(-1);
    if (!first || !last) continue;
    out.push({
      unit,
      state: 'stale',
      lastTriggerAt: lastTrigger.get(unit) ?? null,
      intervalSeconds: interval.get(unit) ?? null,
      staleFrom: first.time,
      staleTo: last.time,
      stillStale: last.time >= lastStep - EPS,
      problem: true,
    });
  }
  const loadedTimers = [...new Set(r.timers.filter((s) => hostOf(s) === host).map(unitOf))];
  for (const unit of loadedTimers) {
    if (lastTrigger.has(unit) || stale.has(unit)) continue;
    const every = interval.get(unit) ?? null;
    out.push({
      unit,
      state: 'never-fired',
      lastTriggerAt: null,
      intervalSeconds: every,
      staleFrom: null,
      staleTo: null,
      stillStale: false,
      // A weekly timer installed yesterday has not fired yet and is fine; a 5-minute one is not.
      problem: every !== null && w.end - w.start >= STALE_FACTOR * every,
    });
  }
  return out.sort((a, b) => Number(b.problem) - Number(a.problem) || Number(b.stillStale) - Number(a.stillStale) || byUnit(a, b));
}

function timerJobsOf(host: string, r: QueryResults): TimerJob[] {
  const mine = <T extends { labels: Readonly<Record<string, string>> }>(series: readonly T[]): T[] =>
    series.filter((s) => hostOf(s) === host);
  const runs = groupBy(mine(r.timerJobRuns), unitOf);
  const lastSuccess = new Map(mine(r.timerJobLastSuccess).map((s) => [unitOf(s), s]));
  const lastResult = groupBy(mine(r.timerJobLastResult), unitOf);
  const units = new Set([...runs.keys(), ...lastSuccess.keys(), ...lastResult.keys()]);
  const out: TimerJob[] = [];
  for (const unit of units) {
    const counted = runs.get(unit) ?? [];
    const byResult: Record<string, number> = {};
    // increase() of an integer counter is an integer; round away float noise.
    for (const s of counted) {
      const result = s.labels['result'] ?? '';
      byResult[result] = (byResult[result] ?? 0) + Math.round(s.value);
    }
    const successes = byResult['success'] ?? 0;
    const failuresByResult = Object.fromEntries(
      Object.entries(byResult)
        .filter(([result, n]) => result !== 'success' && n > 0)
        .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1)),
    );
    const failures = Object.values(failuresByResult).reduce((sum, n) => sum + n, 0);
    const latest = [...(lastResult.get(unit) ?? [])].sort((a, b) => b.value - a.value)[0];
    const success = lastSuccess.get(unit);
    out.push({
      unit,
      service: counted[0]?.labels['service'] ?? success?.labels['service'] ?? latest?.labels['service'] ?? '',
      runs: successes + failures,
      successes,
      failures,
      failuresByResult,
      lastSuccessAt: success?.value ?? null,
      lastResult: latest?.labels['result'] ?? null,
      problem: failures > 0 && successes === 0,
    });
  }
  return out.sort((a, b) => Number(b.problem) - Number(a.problem) || b.failures - a.failures || byUnit(a, b));
}

export function hostsIn(r: QueryResults): string[] {
  const hosts = new Set<string>();
  for (const series of Object.values(r) as Array<ReadonlyArray<{ labels: Readonly<Record<string, string>> }>>) {
    for (const s of series) if (hostOf(s) !== '') hosts.add(hostOf(s));
  }
  return [...hosts].sort();
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function buildSummary(r: QueryResults, w: SummaryWindow, hostFilter: string | undefined): Summary {
  const withData = new Set(hostsIn(r));
  const names = hostFilter === undefined ? [...withData] : [hostFilter];
  const hosts: HostSummary[] = names.map((host) => {
    const { coverage, lastRunStep } = coverageOf(host, r, w);
    const lastStep = lastRunStep ?? w.end;
    const failed = failedOf(host, r, w, lastStep);
    const restarts = restartsOf(host, r, w, lastStep);
    const timers = timersOf(host, r, w, lastStep);
    const timerJobs = timerJobsOf(host, r);
    const missing = missingOf(host, r, w, lastStep);
    const noData = !withData.has(host);
    const unitsSeries = r.units.find((s) => hostOf(s) === host);
    const problems = noData
      ? 1
      : failed.length +
        restarts.length +
        timers.filter((t) => t.problem).length +
        timerJobs.filter((j) => j.problem).length +
        missing.length +
        (coverage.problem ? 1 : 0);
    return { host, noData, units: unitsSeries?.value ?? null, problems, failed, restarts, timers, timerJobs, missing, coverage };
  });
  const problems = hosts.reduce((sum, h) => sum + h.problems, 0);
  const within = `in the last ${w.since}`;
  let verdict: string;
  if (hosts.length === 0) verdict = `no data from any host ${within}`;
  else if (hostFilter !== undefined && hosts[0]?.noData) verdict = `no data for host ${hostFilter} ${within}`;
  else if (problems === 0) {
    const count = hosts.every((h) => h.units !== null) ? hosts.reduce((sum, h) => sum + (h.units ?? 0), 0) : undefined;
    const units = count === undefined ? 'all units' : count === 1 ? '1 unit' : `all ${count} units`;
    const where = hosts.length === 1 ? (hosts[0] as HostSummary).host : `${hosts.length} hosts`;
    verdict = `${units} healthy on ${where} ${within}`;
  } else {
    const troubled = hosts.filter((h) => h.problems > 0);
    const where = hosts.length === 1 ? (hosts[0] as HostSummary).host : `${troubled.length} of ${hosts.length} hosts`;
    verdict = `${plural(problems, 'problem')} on ${where} ${within}`;
  }
  return {
    verdict,
    problems,
    window: w,
    hostFilter: hostFilter ?? null,
    hosts,
    exitCode: hosts.length === 0 || problems > 0 ? EXIT_PROBLEMS : EXIT.ok,
  };
}

// ---------------------------------------------------------------------------------------------
// Rendering

/** `2026-11-30 14:02:30 UTC`; `14:02:30` when `sameDayAs` is on the same UTC day. */
export function formatTime(seconds: number, sameDayAs?: number): string {
  const iso = new Date(Math.round(seconds) * 1000).toISOString();
  const day = iso.slice(0, 10);
  if (sameDayAs !== undefined && new Date(Math.round(sameDayAs) * 1000).toISOString().slice(0, 10) === day) {
    return `${iso.slice(11, 19)} UTC`;
  }
  return `${day} ${iso.slice(11, 19)} UTC`;
}

function percent(fraction: number): string {
  const p = Math.floor(fraction * 1000) / 10;
  return `${p}%`;
}

function describeFailed(f: FailedUnit, end: number): string {
  const status = f.exitStatus === null ? '' : `, exit status ${f.exitStatus}`;
  const since = f.failedBeforeWindow ? 'since before the window' : `since ${formatTime(f.firstFailedAt, end)}`;
  const until = f.stillFailed ? 'still failed' : `last seen failed ${formatTime(f.lastFailedAt, end)}, recovered`;
  return `${f.result || 'failed'}${status}; failed ${since}, ${until}`;
}

function describeRestarts(u: UnitRestarts, end: number): string {
  const loops = u.loops.map(
    (l) => `restart loop ${formatTime(l.from, end)} to ${formatTime(l.to, end)} (${plural(l.restarts, 'restart')})`,
  );
  return [
    `${plural(u.restarts, 'restart')}, last ${formatTime(u.lastRestartAt, end)}`,
    ...loops,
    ...(u.looping ? ['still looping'] : []),
  ].join('; ');
}

function describeTimer(t: TimerFinding, end: number): string {
  const every = t.intervalSeconds === null ? 'no repeating schedule' : `interval ${formatDuration(t.intervalSeconds)}`;
  if (t.state === 'never-fired') {
    return `never fired (${every})${t.problem ? '' : ', not judged'}`;
  }
  const last = t.lastTriggerAt === null ? 'never triggered' : `last triggered ${formatTime(t.lastTriggerAt, end)}`;
  const when = t.stillStale
    ? `stale since ${formatTime(t.staleFrom ?? end, end)}`
    : `stale ${formatTime(t.staleFrom ?? end, end)} to ${formatTime(t.staleTo ?? end, end)}, fired again`;
  return `${when}; ${last}, ${every}`;
}

function describeTimerJob(j: TimerJob, end: number): string {
  const failures = Object.entries(j.failuresByResult)
    .map(([result, n]) => `${result} ${n}`)
    .join(', ');
  const counts =
    j.runs === 0
      ? 'no finished run in the window'
      : `${plural(j.runs, 'run')}, ${j.successes} succeeded${j.failures > 0 ? `, ${j.failures} failed (${failures})` : ''}`;
  const success = j.lastSuccessAt === null ? 'no success seen' : `last success ${formatTime(j.lastSuccessAt, end)}`;
  const latest = j.lastResult !== null && j.lastResult !== 'success' && !j.problem ? `; latest run ${j.lastResult}` : '';
  return `${j.service || '?'}: ${counts}; ${success}${latest}${j.problem ? '; failed every run in the window' : ''}`;
}

function describeMissing(m: MissingUnit, end: number): string {
  const since = m.missingBeforeWindow ? 'before the window' : formatTime(m.firstSeenAt, end);
  return m.stillMissing
    ? `${m.loadState}, not loaded since ${since}`
    : `${m.loadState} from ${since} to ${formatTime(m.lastSeenAt, end)}, loaded again`;
}

function describeCoverage(c: Coverage, w: SummaryWindow): string {
  const runs = `${c.runs} of ${c.expectedRuns} expected runs (${percent(c.fraction)})`;
  const last = c.lastRunAt === null ? 'no run in the window' : `last run ${formatTime(c.lastRunAt, w.end)}`;
  return `${runs}, ${last}`;
}

function describeGap(g: Gap, end: number): string {
  return g.ongoing
    ? `${formatDuration(g.seconds)} since ${formatTime(g.from, end)}, no run since`
    : `${formatDuration(g.seconds)} from ${formatTime(g.from, end)} to ${formatTime(g.to, end)}`;
}

interface Section<T> {
  readonly title: string;
  readonly items: readonly T[];
}

function limited<T>(items: readonly T[], limit: number): { shown: readonly T[]; more: number } {
  if (limit === 0 || items.length <= limit) return { shown: items, more: 0 };
  return { shown: items.slice(0, limit), more: items.length - limit };
}

const MORE_HINT = '(--limit 0 shows all, --format json lists all)';

function hostHeadline(h: HostSummary): string {
  if (h.noData) return `${h.host}: no data in the window`;
  const units = h.units === null ? '' : `, ${plural(h.units, 'unit')} watched`;
  return `${h.host}: ${h.problems === 0 ? 'healthy' : plural(h.problems, 'problem')}${units}`;
}

function windowLine(w: SummaryWindow): string {
  return `window ${formatTime(w.start)} to ${formatTime(w.end)}`;
}

function sectionsOf(h: HostSummary, end: number): Array<Section<[string, string]>> {
  return [
    { title: 'failed units', items: h.failed.map((f) => [f.unit, describeFailed(f, end)] as [string, string]) },
    { title: 'restarts', items: h.restarts.map((u) => [u.unit, describeRestarts(u, end)] as [string, string]) },
    { title: 'timers', items: h.timers.map((t) => [t.unit, describeTimer(t, end)] as [string, string]) },
    { title: 'timer jobs', items: h.timerJobs.map((j) => [j.unit, describeTimerJob(j, end)] as [string, string]) },
    { title: 'missing units', items: h.missing.map((m) => [m.unit, describeMissing(m, end)] as [string, string]) },
  ];
}

export function renderText(s: Summary, limit: number): string {
  const w = s.window;
  const lines = [s.verdict, windowLine(w)];
  for (const h of s.hosts) {
    lines.push('', hostHeadline(h));
    if (h.noData) continue;
    const sections = sectionsOf(h, w.end);
    for (const { title, items } of sections) {
      const { shown, more } = limited(items, limit);
      lines.push(`  ${title}: ${items.length === 0 ? 'none' : items.length}`);
      for (const [unit, text] of shown) lines.push(`    ${unit}: ${text}`);
      if (more > 0) lines.push(`    ... and ${more} more ${MORE_HINT}`);
    }
    lines.push(`  exporter coverage: ${describeCoverage(h.coverage, w)}`);
    const gapTitle = `gaps over ${formatDuration(GAP_INTERVALS * w.intervalSeconds)}`;
    const { shown, more } = limited(h.coverage.gaps, limit);
    lines.push(`  ${gapTitle}: ${h.coverage.gaps.length === 0 ? 'none' : h.coverage.gaps.length}`);
    for (const g of shown) lines.push(`    ${describeGap(g, w.end)}`);
    if (more > 0) lines.push(`    ... and ${more} more ${MORE_HINT}`);
  }
  return `${lines.join('\n')}\n`;
}

function mdCell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function renderMarkdown(s: Summary, limit: number): string {
  const w = s.window;
  const lines = [`**${mdCell(s.verdict)}**`, '', `_${windowLine(w)}_`];
  for (const h of s.hosts) {
    lines.push('', `### ${mdCell(hostHeadline(h))}`);
    if (h.noData) continue;
    for (const { title, items } of sectionsOf(h, w.end)) {
      const heading = `${title[0]?.toUpperCase()}${title.slice(1)}`;
      if (items.length === 0) {
        lines.push('', `**${heading}:** none`);
        continue;
      }
      const { shown, more } = limited(items, limit);
      lines.push('', `**${heading} (${items.length})**`, '', '| unit | finding |', '|---|---|');
      for (const [unit, text] of shown) lines.push(`| \`${mdCell(unit)}\` | ${mdCell(text)} |`);
      if (more > 0) lines.push('', `… and ${more} more ${MORE_HINT}`);
    }
    lines.push('', `**Exporter coverage:** ${mdCell(describeCoverage(h.coverage, w))}`);
    const gapTitle = `Gaps over ${formatDuration(GAP_INTERVALS * w.intervalSeconds)}`;
    if (h.coverage.gaps.length === 0) lines.push('', `**${gapTitle}:** none`);
    else {
      const { shown, more } = limited(h.coverage.gaps, limit);
      lines.push('', `**${gapTitle} (${h.coverage.gaps.length})**`, '');
      for (const g of shown) lines.push(`- ${mdCell(describeGap(g, w.end))}`);
      if (more > 0) lines.push(`- … and ${more} more ${MORE_HINT}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export function renderJson(s: Summary): string {
  return `${JSON.stringify(s, null, 2)}\n`;
}

export function renderSummary(s: Summary, format: SummaryFormat, limit: number): string {
  return format === 'json' ? renderJson(s) : format === 'markdown' ? renderMarkdown(s, limit) : renderText(s, limit);
}

// ---------------------------------------------------------------------------------------------
// The command

/** Where VictoriaMetrics answers queries: --vm-url, else the push endpoint's scheme, host and port. */
export function queryTarget(vmUrl: string | undefined, endpoint: string): { url: string; headers: Record<string, string> } {
  if (vmUrl !== undefined) return splitCredentials(vmUrl, '--vm-url');
  const parsed = new URL(endpoint);
  parsed.pathname = '/';
  return splitCredentials(parsed.toString(), 'the push endpoint');
}

export interface SummaryEdges {
  readonly readFile: (path: string) => string | undefined;
  readonly createApi: (options: PrometheusApiOptions) => PrometheusApi;
  readonly now: () => number;
}

const DEFAULT_EDGES: SummaryEdges = { readFile: readFileIfExists, createApi: createPrometheusApi, now: () => Date.now() / 1000 };

export async function summaryCommand(argv: readonly string[], ctx: CommandContext, edges: SummaryEdges = DEFAULT_EDGES): Promise<number> {
  const args = parseSummaryArgs(argv);
  if (args.help) {
    ctx.stdout(`${SUMMARY_USAGE}\n`);
    return EXIT.ok;
  }
  const config = resolveConfig({
    flags: {
      ...(args.config === undefined ? {} : { config: args.config }),
      ...(args.endpoint === undefined ? {} : { endpoint: args.endpoint }),
      ...(args.headers.length === 0 ? {} : { headers: args.headers }),
    },
    env: ctx.env,
    hostname,
    readFile: edges.readFile,
  });
  const target = queryTarget(args.vmUrl, config.endpoint);
  const window = planWindow(args.since, args.sinceSeconds, args.now ?? edges.now(), args.intervalSeconds);
  // One deadline for every query; the first failure cancels the rest, so the process ends now.
  const cancel = new AbortController();
  const api = edges.createApi({
    baseUrl: target.url,
    headers: { ...config.headers, ...target.headers },
    signal: AbortSignal.any([AbortSignal.timeout(args.timeoutMs), cancel.signal]),
    timeoutMs: args.timeoutMs,
  });
  let results: QueryResults;
  try {
    results = await runQueries(api, window, args.host);
  } catch (error) {
    cancel.abort();
    if (error instanceof HeartbeatError) throw error;
    throw new HeartbeatError(EXIT.failure, `querying VictoriaMetrics failed: ${describeError(error)}`);
  }
  const summary = buildSummary(results, window, args.host);
  ctx.stdout(renderSummary(summary, args.format, args.limit));
  return summary.exitCode;
}
