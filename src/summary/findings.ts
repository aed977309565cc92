/**
 * Pure: query results -> Summary, the findings per host. Range answers hold only the steps that
 * matched (see queries.ts), so the work grows with the problems, not with the units.
 */
import { EXIT } from '../errors.ts';
import { GAP_INTERVALS, MIN_COVERAGE, RESTART_THRESHOLD, RESTART_WINDOW, STALE_FACTOR } from '../thresholds.ts';
import type { InstantSeries, RangeSeries } from '../vm/prometheus-api.ts';
import {
  EXIT_PROBLEMS,
  type Coverage,
  type FailedUnit,
  type Gap,
  type HostSummary,
  type MissingUnit,
  type RestartLoop,
  type Summary,
  type TimerFinding,
  type TimerJob,
  type UnitFailures,
  type FailedReloads,
  type UnitRestarts,
} from './model.ts';
import {
  coverageAggregates,
  hostKey,
  splitHostKey,
  needsGapDetail,
  type CoverageAggregate,
  type QueryResults,
  type SummaryWindow,
} from './queries.ts';

/** The host a series belongs to: its name, and its tenant when it has one (queries.ts hostKey). */
function hostOf(s: { labels: Readonly<Record<string, string>> }): string {
  return hostKey(s.labels);
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
function pointsOf(series: readonly RangeSeries[]): Point[] {
  return series
    .flatMap((s) => s.times.map((time, i) => ({ time, value: s.values[i] as number, labels: s.labels })))
    .sort((a, b) => a.time - b.time);
}

/** Tolerance for comparing step times that went through a float (seconds with ms digits). */
const EPS = 0.001;

function byUnit<T extends { unit: string }>(a: T, b: T): number {
  return a.unit < b.unit ? -1 : a.unit > b.unit ? 1 : 0;
}

type Point = { time: number; value: number; labels: Readonly<Record<string, string>> };

/** One unit's interesting steps (failed, not loaded, stale) in the window: the pattern every such section shares. */
interface Episode {
  readonly unit: string;
  /** The first and the last such step inside the window. */
  readonly first: Point;
  readonly last: Point;
  /** It was already so in the step before the window. */
  readonly beforeWindow: boolean;
  /** It was so at the host's last run. */
  readonly still: boolean;
}

function episodesOf(series: readonly RangeSeries[], host: string, w: SummaryWindow, lastStep: number): Episode[] {
  const out: Episode[] = [];
  for (const [unit, mine] of groupBy(
    series.filter((s) => hostOf(s) === host),
    unitOf,
  )) {
    const all = pointsOf(mine);
    const inWindow = all.filter((p) => p.time > w.start + EPS);
    const first = inWindow[0];
    const last = inWindow.at(-1);
    if (!first || !last) continue;
    out.push({ unit, first, last, beforeWindow: all[0] !== undefined && all[0].time <= w.start + EPS, still: last.time >= lastStep - EPS });
  }
  return out;
}

/** A host without gaps: its coverage from VictoriaMetrics' aggregates alone (the same as the step-by-step path gives). */
function coverageFromAggregate(runs: number, c: CoverageAggregate, w: SummaryWindow): { coverage: Coverage; lastRunStep: number | null } {
  const first = c.first as number;
  const last = c.last as number;
  const joined = c.before ? null : first;
  const from = joined ?? w.start;
  const expectedRuns = Math.max(1, Math.floor((w.end - from) / w.intervalSeconds) + (joined === null ? 0 : 1));
  const fraction = Math.min(1, runs / expectedRuns);
  return {
    coverage: { runs, expectedRuns, fraction, firstRunAt: joined, lastRunAt: last, gaps: [], problem: fraction < MIN_COVERAGE },
    // The step whose (step - $step, step] holds the last run.
    lastRunStep: w.start + Math.ceil((last - w.start) / w.step - EPS) * w.step,
  };
}

function coverageOf(
  host: string,
  r: QueryResults,
  w: SummaryWindow,
  aggregates: ReadonlyMap<string, CoverageAggregate>,
): { coverage: Coverage; lastRunStep: number | null } {
  const runs = r.runs.find((s) => hostOf(s) === host)?.value ?? 0;
  const aggregate = aggregates.get(host);
  if (aggregate && !needsGapDetail(aggregate, w)) return coverageFromAggregate(runs, aggregate, w);
  const firsts = new Map<number, number>();
  for (const s of r.firstRuns.filter((x) => hostOf(x) === host)) {
    for (const [i, t] of s.times.entries()) firsts.set(t, s.values[i] as number);
  }
  const buckets = r.lastRuns
    .filter((x) => hostOf(x) === host)
    .flatMap((s) => s.times.map((t, i) => ({ step: t, first: firsts.get(t) ?? (s.values[i] as number), last: s.values[i] as number })))
    .sort((a, b) => a.step - b.step);
  const limit = GAP_INTERVALS * w.intervalSeconds;
  // The step at the window's start holds the run just before it, if any: then the host was
  // watched before the window and a gap is measured from the window's start. A host whose first
  // run is inside the window is judged from that run: it was not missing before it existed.
  const joined = buckets[0] !== undefined && buckets[0].step > w.start + EPS ? buckets[0].first : null;
  const from = joined ?? w.start;
  const gaps: Gap[] = [];
  let previous: number = from;
  for (const b of buckets) {
    if (b.first - previous > limit + EPS) gaps.push({ from: previous, to: b.first, seconds: round(b.first - previous), ongoing: false });
    previous = Math.max(previous, b.last);
  }
  if (w.end - previous > limit + EPS) gaps.push({ from: previous, to: w.end, seconds: round(w.end - previous), ongoing: true });
  const lastBucket = buckets.at(-1);
  // A new host's first run is one of its expected runs; the window's runs are those after its start.
  const expectedRuns = Math.max(1, Math.floor((w.end - from) / w.intervalSeconds) + (joined === null ? 0 : 1));
  const fraction = Math.min(1, runs / expectedRuns);
  return {
    coverage: {
      runs,
      expectedRuns,
      fraction,
      firstRunAt: joined,
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
  const out = episodesOf(r.failed, host, w, lastStep).map((e): FailedUnit => {
    const exitPoints = pointsOf(exit.get(e.unit) ?? []).filter((p) => p.time > w.start + EPS);
    return {
      unit: e.unit,
      result: e.last.labels['result'] ?? '',
      exitStatus: exitPoints.at(-1)?.value ?? null,
      firstFailedAt: e.first.time,
      lastFailedAt: e.last.time,
      failedBeforeWindow: e.beforeWindow,
      stillFailed: e.still,
    };
  });
  // Still failed first, then by name.
  return out.sort((a, b) => Number(b.stillFailed) - Number(a.stillFailed) || byUnit(a, b));
}

/** Merged intervals in which some RESTART_WINDOW held more than RESTART_THRESHOLD restarts (the alert's rule). */
export function findLoops(points: ReadonlyArray<{ time: number; value: number }>): RestartLoop[] {
  const loops: Array<{ from: number; to: number }> = [];
  let lo = 0;
  let inSpan = 0;
  for (let hi = 0; hi < points.length; hi++) {
    const p = points[hi] as { time: number; value: number };
    inSpan += p.value;
    while ((points[lo] as { time: number }).time <= p.time - RESTART_WINDOW + EPS) inSpan -= (points[lo++] as { value: number }).value;
    if (inSpan <= RESTART_THRESHOLD) continue;
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
    const recent = points.filter((p) => p.time > lastStep - RESTART_WINDOW + EPS && p.time <= lastStep + EPS);
    out.push({
      unit,
      restarts,
      lastRestartAt: last.time,
      loops: findLoops(points),
      looping: recent.reduce((sum, p) => sum + p.value, 0) > RESTART_THRESHOLD,
    });
  }
  return out.sort((a, b) => Number(b.looping) - Number(a.looping) || b.restarts - a.restarts || byUnit(a, b));
}

function missingOf(host: string, r: QueryResults, w: SummaryWindow, lastStep: number): MissingUnit[] {
  const out = episodesOf(r.missing, host, w, lastStep).map(
    (e): MissingUnit => ({
      unit: e.unit,
      loadState: e.last.labels['load_state'] ?? '',
      firstSeenAt: e.first.time,
      lastSeenAt: e.last.time,
      missingBeforeWindow: e.beforeWindow,
      stillMissing: e.still,
    }),
  );
  return out.sort((a, b) => Number(b.stillMissing) - Number(a.stillMissing) || byUnit(a, b));
}

function timersOf(host: string, r: QueryResults, w: SummaryWindow, lastStep: number): TimerFinding[] {
  const valueByUnit = (series: readonly InstantSeries[]): Map<string, number> =>
    new Map(series.filter((s) => hostOf(s) === host).map((s) => [unitOf(s), s.value]));
  const lastTrigger = valueByUnit(r.timerLastTrigger);
  const interval = valueByUnit(r.timerInterval);
  const stale = episodesOf(r.staleTimers, host, w, lastStep);
  const out = stale.map(
    (e): TimerFinding => ({
      unit: e.unit,
      state: 'stale',
      lastTriggerAt: lastTrigger.get(e.unit) ?? null,
      intervalSeconds: interval.get(e.unit) ?? null,
      staleFrom: e.first.time,
      staleTo: e.last.time,
      stillStale: e.still,
      problem: true,
    }),
  );
  const staleUnits = new Set(stale.map((e) => e.unit));
  const loadedTimers = [...new Set(r.timers.filter((s) => hostOf(s) === host).map(unitOf))];
  for (const unit of loadedTimers) {
    if (lastTrigger.has(unit) || staleUnits.has(unit)) continue;
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
    const skipped = byResult['skipped'] ?? 0;
    const failuresByResult = Object.fromEntries(
      Object.entries(byResult)
        .filter(([result, n]) => result !== 'success' && result !== 'skipped' && n > 0)
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
      skipped,
      lastSuccessAt: success?.value ?? null,
      lastResult: latest?.labels['result'] ?? null,
      problem: failures + skipped > 0 && successes === 0,
    });
  }
  return out.sort((a, b) => Number(b.problem) - Number(a.problem) || b.failures - a.failures || byUnit(a, b));
}

/** Failures per unit in the window by result, with the latest failure's time. */
function failuresOf(host: string, r: QueryResults): UnitFailures[] {
  const counted = groupBy(
    (r.unitFailures ?? []).filter((s) => hostOf(s) === host),
    unitOf,
  );
  const last = new Map((r.unitLastFailure ?? []).filter((s) => hostOf(s) === host).map((s) => [unitOf(s), s.value]));
  const out: UnitFailures[] = [];
  for (const [unit, series] of counted) {
    const byResult: Record<string, number> = {};
    for (const s of series) byResult[s.labels['result'] ?? ''] = (byResult[s.labels['result'] ?? ''] ?? 0) + Math.round(s.value);
    const sorted = Object.fromEntries(
      Object.entries(byResult)
        .filter(([, n]) => n > 0)
        .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1)),
    );
    const failures = Object.values(sorted).reduce((sum, n) => sum + n, 0);
    if (failures > 0) out.push({ unit, failures, byResult: sorted, lastFailureAt: last.get(unit) ?? null });
  }
  return out.sort((a, b) => b.failures - a.failures || byUnit(a, b));
}

function failedReloadsOf(host: string, r: QueryResults): FailedReloads[] {
  return (r.failedReloads ?? [])
    .filter((s) => hostOf(s) === host && Math.round(s.value) > 0)
    .map((s) => ({ unit: unitOf(s), failed: Math.round(s.value) }))
    .sort(byUnit);
}

export function hostsIn(r: QueryResults): string[] {
  const hosts = new Set<string>();
  for (const series of Object.values(r) as Array<ReadonlyArray<{ labels: Readonly<Record<string, string>> }>>) {
    for (const s of series) if (hostOf(s) !== '') hosts.add(hostOf(s));
  }
  return [...hosts].sort();
}

/** `1 problem`, `3 problems`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function buildSummary(r: QueryResults, w: SummaryWindow, hostFilter: string | undefined): Summary {
  const withData = new Set(hostsIn(r));
  const aggregates = coverageAggregates(r);
  const names = hostFilter === undefined ? [...withData] : [...withData].filter((k) => splitHostKey(k).host === hostFilter);
  if (names.length === 0 && hostFilter !== undefined) names.push(hostFilter);
  const hosts: HostSummary[] = names.map((key) => {
    const { host, tenant } = splitHostKey(key);
    const { coverage, lastRunStep } = coverageOf(key, r, w, aggregates);
    const lastStep = lastRunStep ?? w.end;
    const failed = failedOf(key, r, w, lastStep);
    const restarts = restartsOf(key, r, w, lastStep);
    const timers = timersOf(key, r, w, lastStep);
    const timerJobs = timerJobsOf(key, r);
    const failures = failuresOf(key, r);
    const failedReloads = failedReloadsOf(key, r);
    const missing = missingOf(key, r, w, lastStep);
    const noData = !withData.has(key);
    const unitsSeries = r.units.find((s) => hostOf(s) === key);
    const problems = noData
      ? 1
      : failed.length +
        restarts.length +
        timers.filter((t) => t.problem).length +
        timerJobs.filter((j) => j.problem).length +
        failures.length +
        failedReloads.length +
        missing.length +
        (coverage.problem ? 1 : 0);
    return {
      host,
      ...(tenant === undefined ? {} : { tenant }),
      noData,
      units: unitsSeries?.value ?? null,
      problems,
      failed,
      restarts,
      failures,
      failedReloads,
      timers,
      timerJobs,
      missing,
      coverage,
    };
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
