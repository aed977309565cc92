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
import { SUMMARY_QUERIES, type QueryName, type QueryResults, type SummaryWindow } from '../src/summary/queries.ts';
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
  assert.deepEqual(Object.keys(recorded.results).sort(), Object.keys(SUMMARY_QUERIES).sort());
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
  const empty = Object.fromEntries(Object.keys(SUMMARY_QUERIES).map((name) => [name, []])) as unknown as Record<QueryName, []>;
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
