/**
 * The summary's findings offline: the query results a real VictoriaMetrics gave for the known
 * day of test/summary.test.ts (recorded there into test/fixtures/summary/kai-server-24h.results.json,
 * which that test keeps equal to what VictoriaMetrics answers) fed to the pure findings and
 * rendering, which must give the same report as the CLI did (the golden files). Plus the one
 * episode pattern that failed units, missing units and stale timers share, on made-up answers.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { buildSummary } from '../src/summary/findings.ts';
import { EXIT_PROBLEMS } from '../src/summary/model.ts';
import {
  GAP_QUERIES,
  SUMMARY_QUERIES,
  needsGapDetail,
  type QueryName,
  type QueryResults,
  type SummaryWindow,
} from '../src/summary/queries.ts';
import { renderMarkdown, renderText } from '../src/summary/render.ts';
import type { RangeSeries } from '../src/vm/prometheus-api.ts';

const FIXTURES = new URL('fixtures/summary/', import.meta.url);

interface Recorded {
  readonly host: string;
  readonly window: SummaryWindow;
  readonly results: QueryResults;
}

const recorded = JSON.parse(readFileSync(new URL('kai-server-24h.results.json', FIXTURES), 'utf8')) as Recorded;

test('the recorded answers hold every query of the summary', () => {
  assert.deepEqual(Object.keys(recorded.results).sort(), [...Object.keys(SUMMARY_QUERIES), ...Object.keys(GAP_QUERIES)].sort());
  assert.ok(recorded.results.failed.length > 0 && recorded.results.restarts.length > 0, 'the known day has failures and restarts');
});

test('findings from the recorded answers give the report the CLI gave (golden text and markdown)', () => {
  const s = buildSummary(recorded.results, recorded.window, recorded.host);
  assert.equal(s.exitCode, EXIT_PROBLEMS);
  assert.equal(renderText(s, 20), readFileSync(new URL('kai-server-24h.txt', FIXTURES), 'utf8'));
  assert.equal(renderMarkdown(s, 20), readFileSync(new URL('kai-server-24h.md', FIXTURES), 'utf8'));
});

test('a failed unit that recovered before the last run is reported recovered, not still failed', () => {
  const s = buildSummary(recorded.results, recorded.window, recorded.host);
  const still = s.hosts[0]?.failed.find((f) => f.stillFailed);
  assert.ok(still, 'the known day has a unit failed at the end');
  // Cut its failed steps off an hour before the end: the same answer, as if it had recovered then.
  const cut = recorded.window.end - 3600;
  const failed = recorded.results.failed.map((series) => (series.labels['unit'] === still.unit ? trim(series, cut) : series));
  const after = buildSummary({ ...recorded.results, failed }, recorded.window, recorded.host);
  const unit = after.hosts[0]?.failed.find((f) => f.unit === still.unit);
  assert.equal(unit?.stillFailed, false);
  assert.ok(unit && unit.lastFailedAt <= cut);
});

function trim(series: RangeSeries, until: number): RangeSeries {
  const keep = series.times.map((t, i) => [t, series.values[i] as number] as const).filter(([t]) => t <= until);
  return { labels: series.labels, times: keep.map(([t]) => t), values: keep.map(([, v]) => v) };
}

const W: SummaryWindow = { since: '1h', start: 10_000, end: 13_600, step: 30, intervalSeconds: 30 };

function answers(extra: Partial<QueryResults>): QueryResults {
  const empty = Object.fromEntries(
    [...Object.keys(SUMMARY_QUERIES), ...Object.keys(GAP_QUERIES)].map((name) => [name, []]),
  ) as unknown as Record<QueryName, []>;
  // The host ran every step of the window.
  const steps = Array.from({ length: 121 }, (_, i) => W.start + i * W.step);
  const runs: RangeSeries = { labels: { host: 'h' }, times: steps, values: steps };
  return {
    ...empty,
    runs: [{ labels: { host: 'h' }, time: W.end, value: 120 }],
    firstRuns: [runs],
    lastRuns: [runs],
    ...extra,
  } as QueryResults;
}

function range(labels: Record<string, string>, times: number[]): RangeSeries {
  return { labels: { host: 'h', ...labels }, times, values: times.map(() => 1) };
}

test('one episode rule for failed units, missing units and stale timers: before the window, inside it, still so', () => {
  // a: already so at the window's start and still at the end; b: inside the window only.
  const a = [W.start, W.start + 30, W.end];
  const b = [W.start + 600, W.start + 630];
  const s = buildSummary(
    answers({
      failed: [range({ unit: 'a.service', result: 'exit-code' }, a), range({ unit: 'b.service', result: 'signal' }, b)],
      missing: [range({ unit: 'a.service', load_state: 'not-found' }, a), range({ unit: 'b.service', load_state: 'masked' }, b)],
      staleTimers: [range({ unit: 'a.timer' }, a), range({ unit: 'b.timer' }, b)],
    }),
    W,
    'h',
  );
  const h = s.hosts[0];
  assert.ok(h);
  const shape = (before: boolean, from: number, to: number, still: boolean) => ({ before, from, to, still });
  assert.deepEqual(
    h.failed.map((f) => [f.unit, shape(f.failedBeforeWindow, f.firstFailedAt, f.lastFailedAt, f.stillFailed)]),
    [
      ['a.service', shape(true, W.start + 30, W.end, true)],
      ['b.service', shape(false, W.start + 600, W.start + 630, false)],
    ],
  );
  assert.deepEqual(
    h.missing.map((m) => [m.unit, shape(m.missingBeforeWindow, m.firstSeenAt, m.lastSeenAt, m.stillMissing)]),
    [
      ['a.service', shape(true, W.start + 30, W.end, true)],
      ['b.service', shape(false, W.start + 600, W.start + 630, false)],
    ],
  );
  assert.deepEqual(
    h.timers.map((t) => [t.unit, t.staleFrom, t.staleTo, t.stillStale]),
    [
      ['a.timer', W.start + 30, W.end, true],
      ['b.timer', W.start + 600, W.start + 630, false],
    ],
  );
  assert.equal(h.problems, 6);
});

test("a host without gaps is judged from VictoriaMetrics' aggregates alone, as the step-by-step path judges it", () => {
  const exact = buildSummary(answers({}), W, 'h').hosts[0];
  // The same host, only its aggregates: first and last run, covered time, a run before the window.
  const aggregated = buildSummary(
    answers({
      firstRuns: [],
      lastRuns: [],
      coverageFirst: [{ labels: { host: 'h' }, time: W.end, value: W.start + 30 }],
      coverageLast: [{ labels: { host: 'h' }, time: W.end, value: W.end }],
      coverageCovered: [{ labels: { host: 'h' }, time: W.end, value: W.end - W.start - 30 }],
      coverageBefore: [{ labels: { host: 'h' }, time: W.end, value: 1 }],
    }),
    W,
    'h',
  ).hosts[0];
  assert.ok(exact && aggregated);
  assert.deepEqual(aggregated.coverage, exact.coverage);
  assert.equal(exact.coverage.gaps.length, 0);
  // A gap inside the window (covered time short of last - first) needs the steps.
  const c = { first: W.start + 30, last: W.end, covered: W.end - W.start - 30 - 600, before: true };
  assert.equal(needsGapDetail(c, W), true);
  assert.equal(needsGapDetail({ ...c, covered: W.end - W.start - 30 }, W), false);
  assert.equal(needsGapDetail({ ...c, covered: W.end - W.start - 30, last: W.end - 100 }, W), true, 'silent at the end');
  assert.equal(needsGapDetail({ ...c, covered: W.end - W.start - 30 - 200, first: W.start + 230, before: false }, W), false, 'a new host');
});

test('one host name in two tenants (vmagent multitenant labels) is two hosts', () => {
  const t = (account: string) => ({ host: 'h', vm_account_id: account, vm_project_id: '0' });
  const s = buildSummary(
    answers({
      runs: [
        { labels: t('1'), time: W.end, value: 120 },
        { labels: t('2'), time: W.end, value: 120 },
      ],
      firstRuns: [],
      lastRuns: [],
      coverageFirst: [1, 2].map((a) => ({ labels: t(String(a)), time: W.end, value: W.start + 30 })),
      coverageLast: [1, 2].map((a) => ({ labels: t(String(a)), time: W.end, value: W.end })),
      coverageCovered: [1, 2].map((a) => ({ labels: t(String(a)), time: W.end, value: W.end - W.start - 30 })),
      coverageBefore: [1, 2].map((a) => ({ labels: t(String(a)), time: W.end, value: 1 })),
      failed: [range({ ...t('2'), unit: 'x.service', result: 'exit-code' }, [W.end])],
    }),
    W,
    undefined,
  );
  assert.deepEqual(
    s.hosts.map((h) => [h.host, h.tenant, h.problems, h.coverage.runs]),
    [
      ['h', '1:0', 0, 120],
      ['h', '2:0', 1, 120],
    ],
  );
});
