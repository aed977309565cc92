/**
 * The Grafana dashboard (dashboards/systemd-heartbeat.json):
 *   - is exactly what scripts/build-dashboard.ts generates (tsc checks that against
 *     @grafana/schema's dashboard model), and has the shape Grafana needs to import it;
 *   - uses only metrics and labels that src/metrics/definitions.ts defines;
 *   - every query, interpolated the way Grafana does it, returns data from a real
 *     VictoriaMetrics that received real pushes from the built exporter (recorded systemd 252
 *     output replayed, test/support/dashboard-data.ts).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { METRICS, findMetric } from '../src/metrics/definitions.ts';
import { DASHBOARD_PATH, DASHBOARD_UID, renderDashboardJson } from '../scripts/build-dashboard.ts';
import { collectPreview, drawPreview } from '../scripts/render-dashboard-preview.ts';
import { skipReason } from './support/cli.ts';
import { HOSTS, PUSH_GAP_MS, pushHistory, runDashboardQuery, type History, type QueriedSeries } from './support/dashboard-data.ts';
import {
  extractQueries,
  interpolate,
  parseLabelValues,
  queryVariables,
  referencedVariables,
  resolveVariables,
  timeVariables,
  type ExtractedQuery,
  type VariableState,
} from './support/grafana.ts';
import { startVictoria, victoriaUnavailable, type Victoria } from './support/victoria.ts';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const text = readFileSync(DASHBOARD_PATH, 'utf8');
const dashboard = JSON.parse(text) as Json;
const queries = extractQueries(dashboard);
const variables = ((dashboard.templating as Json).list as Json[]).filter(isObject);
const DS_REF = { type: 'prometheus', uid: '${datasource}' };

/** Grafana's core panel plugins this dashboard may use (no plugin to install). */
const CORE_PANELS = new Set(['row', 'stat', 'timeseries', 'state-timeline', 'table', 'text', 'gauge', 'bargauge', 'status-history']);

describe('dashboard JSON', () => {
  test('is the output of scripts/build-dashboard.ts (run it after changing the generator)', () => {
    assert.equal(text, renderDashboardJson());
  });

  test('has the shape Grafana 10-12 imports: uid, schemaVersion, grid, panels, targets', () => {
    assert.equal(dashboard.uid, DASHBOARD_UID);
    assert.equal(typeof dashboard.title, 'string');
    assert.ok(
      Number.isInteger(dashboard.schemaVersion) && (dashboard.schemaVersion as number) >= 36 && (dashboard.schemaVersion as number) <= 41,
    );
    assert.equal(dashboard.id ?? null, null, 'no instance-specific numeric id');
    const panels = dashboard.panels as Json[];
    assert.ok(Array.isArray(panels) && panels.length > 0);
    const ids = new Set<number>();
    const cells = new Set<string>();
    for (const p of panels) {
      assert.ok(CORE_PANELS.has(String(p.type)), `panel type ${String(p.type)} is a core panel`);
      assert.ok(Number.isInteger(p.id) && !ids.has(p.id as number), `panel id ${String(p.id)} unique`);
      ids.add(p.id as number);
      const g = p.gridPos as Record<string, number>;
      for (const k of ['x', 'y', 'w', 'h']) assert.ok(Number.isInteger(g[k]) && (g[k] as number) >= 0, `${String(p.title)}: gridPos.${k}`);
      assert.ok(
        (g.x as number) + (g.w as number) <= 24 && (g.w as number) > 0 && (g.h as number) > 0,
        `${String(p.title)} fits the 24-column grid`,
      );
      for (let x = g.x as number; x < (g.x as number) + (g.w as number); x++) {
        for (let y = g.y as number; y < (g.y as number) + (g.h as number); y++) {
          assert.ok(!cells.has(`${x},${y}`), `${String(p.title)} overlaps another panel at ${x},${y}`);
          cells.add(`${x},${y}`);
        }
      }
      assert.deepEqual(p.datasource, DS_REF, `${String(p.title)} uses the datasource variable`);
      if (p.type === 'row') {
        assert.equal(p.collapsed, false);
        assert.deepEqual(p.panels, [], 'an expanded row keeps its panels at the top level');
        if (p.repeat !== undefined)
          assert.ok(
            variables.some((v) => v.name === p.repeat && v.multi === true),
            'a row repeats over a multi-value variable',
          );
        continue;
      }
      const targets = p.targets as Json[];
      assert.ok(Array.isArray(targets) && targets.length > 0, `${String(p.title)} has queries`);
      const refIds = new Set<string>();
      for (const t of targets) {
        assert.ok(typeof t.refId === 'string' && /^[A-Z]$/.test(t.refId) && !refIds.has(t.refId), `${String(p.title)}: refId`);
        refIds.add(t.refId as string);
        assert.ok(typeof t.expr === 'string' && t.expr.trim() !== '', `${String(p.title)} ${String(t.refId)}: expr`);
        assert.deepEqual(t.datasource, DS_REF, `${String(p.title)} ${String(t.refId)} uses the datasource variable`);
        assert.ok(t.instant === true || t.range === true, `${String(p.title)} ${String(t.refId)}: instant or range`);
      }
      assert.ok(isObject(p.fieldConfig) && isObject((p.fieldConfig as Json).defaults) && Array.isArray((p.fieldConfig as Json).overrides));
    }
  });

  test('no datasource uid is hard-coded anywhere: every reference is ${datasource}', () => {
    let refs = 0;
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (isObject(v)) {
        for (const [k, child] of Object.entries(v)) {
          if (k === 'datasource') {
            refs++;
            assert.deepEqual(child, DS_REF);
          } else walk(child);
        }
      }
    };
    walk(dashboard);
    assert.ok(refs >= queries.length, 'every target carries its datasource');
    assert.ok(!/"uid":\s*"(?!\$\{datasource\}|systemd-heartbeat")/.test(text), 'no other uid in the JSON');
  });

  test('variables: datasource (prometheus), host and unit multi-select with All, from label values', () => {
    const byName = new Map(variables.map((v) => [v.name, v]));
    const ds = byName.get('datasource');
    assert.equal(ds?.type, 'datasource');
    assert.equal(ds?.query, 'prometheus');
    for (const name of ['host', 'unit']) {
      const v = byName.get(name);
      assert.equal(v?.type, 'query', name);
      assert.equal(v?.multi, true, name);
      assert.equal(v?.includeAll, true, name);
      assert.deepEqual(v?.datasource, DS_REF, name);
      assert.ok(parseLabelValues(String(v?.query)), `${name} is a label_values() query`);
    }
    assert.ok(
      queries.some((q) => q.repeat === 'unit'),
      'a row repeats per unit',
    );
  });

  test('every metric and label a query uses is defined in src/metrics/definitions.ts', () => {
    const exprs = [...queries.map((q) => q.target.expr), ...variables.filter((v) => v.type === 'query').map((v) => String(v.query))];
    const used = new Set<string>();
    for (const expr of exprs) {
      const names = [...expr.matchAll(/\b(systemd_[a-z0-9_]+)\b/g)].map((m) => m[1] as string);
      assert.ok(names.length > 0, `${expr} uses a systemd-heartbeat metric`);
      for (const name of names) {
        const def = findMetric(name);
        assert.ok(def, `${name} (in ${expr}) is defined`);
        used.add(name);
      }
      // Labels in matchers, by/on clauses and label_values() must be labels of the metrics used.
      const known = new Set(names.flatMap((n) => findMetric(n)?.labels ?? []));
      const labels = [
        ...[...expr.matchAll(/([a-z_]+)\s*=~?\s*"/g)].map((m) => m[1] as string),
        ...[...expr.matchAll(/\b(?:by|on)\s*\(([^)]*)\)/g)].flatMap((m) => (m[1] as string).split(',').map((s) => s.trim())),
        ...(parseLabelValues(expr) ? [parseLabelValues(expr)?.label as string] : []),
      ];
      for (const label of labels) assert.ok(known.has(label), `label ${label} in ${expr} belongs to ${names.join(', ')}`);
      for (const legend of [...(queries.find((q) => q.target.expr === expr)?.target.legendFormat ?? '').matchAll(/\{\{(\w+)\}\}/g)]) {
        assert.ok(known.has(legend[1] as string), `legend label ${legend[1]} exists on ${names.join(', ')}`);
      }
    }
    assert.ok(used.size >= 8, `the dashboard shows most metrics (${[...used].join(', ')})`);
    assert.ok(METRICS.length > 0);
  });

  test('provisioning examples: a file provider, and a Prometheus-type data source scraping at the push period', () => {
    const provider = readFileSync(new URL('../dashboards/provisioning/dashboards/systemd-heartbeat.yaml', import.meta.url), 'utf8');
    assert.match(provider, /^apiVersion: 1$/m);
    assert.match(provider, /^\s+type: file$/m);
    assert.match(provider, /^\s+path: \/\S+$/m);
    const ds = readFileSync(new URL('../dashboards/provisioning/datasources/victoriametrics.example.yaml', import.meta.url), 'utf8');
    assert.match(ds, /^\s+type: prometheus$/m, 'the type the datasource variable lists');
    assert.match(ds, /^\s+timeInterval: 30s$/m, 'the floor of $__interval is the 30 s push period');
    assert.doesNotMatch(ds, /^\s+uid:/m, 'the dashboard must not depend on a data source uid');
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    assert.match(readme, /^## Dashboard$/m);
    assert.ok(readme.includes('](dashboards/preview.png)'), 'README shows the preview');
  });

  test('panels the issue asks for are there', () => {
    const titles = new Set(queries.map((q) => q.panelTitle));
    for (const t of [
      'Failed units now',
      'Units not loaded',
      'Restarts in range',
      'Stale timers',
      'Exporter heartbeat age',
      'Failed units now (with Result)',
      'Timers',
      'Recent failures',
    ]) {
      assert.ok(titles.has(t), t);
      assert.ok(
        queries.some((q) => q.panelTitle === t && q.repeat === undefined),
        `${t} is in the overview`,
      );
    }
    for (const t of [
      'State and sub-state',
      'Seconds since active',
      'Restart count (NRestarts) and starts',
      'Restarts and failures per interval',
      'Last exit status, Result, LoadState, last failure',
    ]) {
      assert.ok(
        queries.some((q) => q.panelTitle === t && q.repeat === 'unit'),
        `${t} is in the per-unit row`,
      );
    }
    const threshold = queries.find(
      (q) => q.panelTitle === 'Seconds since active' && q.target.expr.includes('systemd_timer_interval_seconds'),
    );
    assert.match(threshold?.target.expr ?? '', /^2 \* /, "the timer's 2x-interval threshold is drawn");
  });
});

describe("Grafana's interpolation, as reproduced in test/support/grafana.ts", () => {
  test('multi-value and All become an escaped regex group; one value stays a bare escaped regex', () => {
    const unit = (values: string[]): VariableState => ({ multi: true, includeAll: true, values });
    assert.equal(interpolate('{unit=~"$unit"}', { unit: unit(['a.service', 'b.service']) }, {}), '{unit=~"(a\\\\.service|b\\\\.service)"}');
    assert.equal(interpolate('{unit=~"${unit}"}', { unit: unit(['hb-ok.service']) }, {}), '{unit=~"hb-ok\\\\.service"}');
    // systemd's escaped names keep their backslash: \x2d -> regex \\x2d -> PromQL string "\\\\x2d".
    assert.equal(interpolate('$unit', { unit: unit(['dev-disk\\x2dboot.mount']) }, {}), 'dev-disk\\\\\\\\x2dboot\\\\.mount');
    assert.equal(interpolate('$h', { h: { multi: false, includeAll: false, values: ["it's"] } }, {}), "it\\\\'s");
    assert.throws(() => interpolate('$nope', {}, {}), /unknown variable/);
  });

  test('$__interval, $__rate_interval and $__range as the Prometheus data source computes them', () => {
    const sixHours = timeVariables({ fromMs: 0, toMs: 6 * 3600_000, maxDataPoints: 1000, scrapeIntervalMs: 30_000 });
    // 21.6 s per point rounds to 20 s, below the 30 s scrape interval; rate = max(30+30, 4x30) s.
    assert.deepEqual(
      [sixHours.builtins.__interval, sixHours.builtins.__rate_interval, sixHours.builtins.__range],
      ['30s', '120s', '21600s'],
    );
    const week = timeVariables({ fromMs: 0, toMs: 7 * 86400_000, maxDataPoints: 1000, scrapeIntervalMs: 30_000 });
    assert.deepEqual([week.builtins.__interval, week.builtins.__rate_interval], ['10m', '630s']);
  });
});

// ---------------------------------------------------------------------------------------------

/**
 * The data source's scrape interval, as the provisioning example sets it: the push period.
 * The test pushes every 2 s instead of 30 s.
 */
const TEST_SCRAPE_INTERVAL_MS = PUSH_GAP_MS;
const reason = skipReason(victoriaUnavailable());

describe('dashboard queries against a real VictoriaMetrics fed by the real exporter', { skip: reason }, () => {
  let vm: Victoria;
  let history: History;
  let vars: Record<string, VariableState>;
  let evalMs: number;
  let fromMs: number;

  before(async () => {
    vm = await startVictoria();
    history = await pushHistory(vm);
    // The dashboard's time range: from a little before the first push to just after the last.
    fromMs = history.fromMs - 10_000;
    evalMs = history.toMs + 1000;
    vars = await resolveVariables(queryVariables(dashboard), (match) => vm.series(match, fromMs, evalMs));
  });
  after(async () => {
    await vm?.stop();
  });

  async function run(q: ExtractedQuery, overrides: Record<string, VariableState> = {}): Promise<QueriedSeries[]> {
    const series = await runDashboardQuery(
      vm,
      q,
      { ...vars, ...overrides },
      { fromMs, toMs: evalMs, scrapeIntervalMs: TEST_SCRAPE_INTERVAL_MS },
    );
    for (const s of series) assert.doesNotMatch(s.expr, /\$/, `nothing left uninterpolated in ${s.expr}`);
    return series;
  }

  const only = (name: string, value: string): Record<string, VariableState> => ({
    [name]: { multi: true, includeAll: true, values: [value] },
  });

  test('host and unit variables list what the exporter pushed', () => {
    assert.deepEqual(vars.host?.values, [...history.hosts].sort());
    for (const unit of ['hb-ok.service', 'hb-crashloop.service', 'hb-tick.timer', 'hb-stale.timer', 'does-not-exist.service']) {
      assert.ok(vars.unit?.values.includes(unit), `${unit} gets a row`);
    }
    assert.ok(!vars.unit?.values.includes('hb-failed.service'), 'a failed unit outside the allowlist gets no row (it is in the table)');
  });

  test('every panel query returns at least one series with All hosts and units selected', async () => {
    assert.ok(queries.length >= 12);
    for (const q of queries) {
      for (const name of referencedVariables(q.target.expr)) {
        assert.ok(name.startsWith('__') || vars[name], `${q.panelTitle}: variable ${name} exists`);
      }
      const series = await run(q);
      assert.ok(series.length > 0, `${q.panelTitle} ${q.target.refId}: ${q.target.expr} returned no series`);
      assert.ok(
        series.some((s) => s.values.some((v) => Number.isFinite(v))),
        `${q.panelTitle} ${q.target.refId}: only NaN`,
      );
    }
  });

  test('a repeated row shows its own unit: the crash-looping service and the timer', async () => {
    const row = queries.filter((q) => q.repeat === 'unit');
    const service = only('unit', 'hb-crashloop.service');
    for (const q of row.filter((r) => !r.target.expr.includes('systemd_timer_'))) {
      const series = await run(q, service);
      assert.ok(series.length > 0, `${q.panelTitle} ${q.target.refId} for hb-crashloop.service`);
      assert.ok(
        series.every((s) => s.metric.unit === undefined || s.metric.unit === 'hb-crashloop.service'),
        'only that unit',
      );
    }
    const timer = only('unit', 'hb-tick.timer');
    for (const q of row.filter((r) => r.panelTitle === 'Seconds since active' || r.panelTitle === 'State and sub-state')) {
      const series = await run(q, timer);
      assert.ok(series.length > 0, `${q.panelTitle} ${q.target.refId} for hb-tick.timer`);
    }
  });

  test('the numbers tell what systemd recorded', async () => {
    const value = async (title: string, overrides: Record<string, VariableState> = {}): Promise<QueriedSeries[]> => {
      const q = queries.find((x) => x.panelTitle === title);
      assert.ok(q, title);
      return run(q, overrides);
    };
    const last = (s: { values: number[] } | undefined): number | undefined => s?.values[s.values.length - 1];
    assert.equal(last((await value('Failed units now'))[0]), 2, 'hb-failed.service on each of the two hosts');
    assert.equal(last((await value('Units not loaded'))[0]), 1, 'does-not-exist.service on kai-server');
    // hb-tick.timer (2 s interval) stopped triggering after step 3: by the last step it is older than 4 s on both hosts.
    assert.equal(last((await value('Stale timers'))[0]), 2);
    // NRestarts went 4 -> 7 over the pushes. The series starts inside the range, and
    // VictoriaMetrics' increase() counts a series born in the window from 0: 7, not 3.
    assert.equal(last((await value('Restarts in range'))[0]), 7);
    const table = await value('Failed units now (with Result)');
    assert.deepEqual(table.map((s) => `${s.metric.host} ${s.metric.unit} ${s.metric.result}`).sort(), [
      'edge-1 hb-failed.service exit-code',
      'kai-server hb-failed.service exit-code',
    ]);
    const ages = await value('Exporter heartbeat age');
    assert.deepEqual(ages.map((s) => s.metric.host).sort(), Object.keys(HOSTS).sort());
    for (const s of ages) assert.ok((last(s) ?? Infinity) < 120, `${s.metric.host} pushed recently`);
    const states = await value('State and sub-state', only('unit', 'hb-crashloop.service'));
    assert.deepEqual([...new Set(states.map((s) => s.metric.sub_state))].sort(), ['auto-restart', 'running'], 'both recorded states show');
    // The last push saw hb-crashloop.service in auto-restart after exit 1 (Result=exit-code);
    // the Result=success series of the push before is still inside the lookback, and must not show.
    const status = queries.filter((q) => q.panelTitle === 'Last exit status, Result, LoadState, last failure');
    const shown = await Promise.all(status.map((q) => run(q, only('unit', 'hb-crashloop.service'))));
    assert.deepEqual(
      shown
        .slice(0, 3)
        .map((series) => series.map((s) => `${s.metric.host} ${s.metric.result ?? s.metric.load_state ?? 'exit'}=${s.values[0]}`)),
      [['kai-server exit=1'], ['kai-server exit-code=0'], ['kai-server loaded=1']],
    );
    // The last failure: the journal time of the latest crash entry, in ms, with its result.
    const lastFailure = shown[3] ?? [];
    assert.deepEqual(
      lastFailure.map((s) => `${s.metric.host} ${s.metric.result}`),
      ['kai-server exit-code'],
    );
    assert.ok(
      Number(lastFailure[0]?.values[0]) >= history.fromMs && Number(lastFailure[0]?.values[0]) <= history.toMs,
      'within the pushes',
    );
    // Recent failures: every crash entry once (odd steps), the oneshot's failed run, hb-ok's failed reload.
    const failures = async (refId: string): Promise<Record<string, string>> => {
      const q = queries.find((x) => x.panelTitle === 'Recent failures' && x.target.refId === refId);
      assert.ok(q, `Recent failures ${refId}`);
      return Object.fromEntries((await run(q)).map((s) => [`${s.metric.host} ${s.metric.unit}`, `${s.metric.result ?? ''}${s.values[0]}`]));
    };
    const crashes = Math.floor(history.steps / 2);
    assert.deepEqual(await failures('C'), { 'kai-server hb-crashloop.service': String(crashes), 'kai-server hb-oneshot.service': '1' });
    assert.deepEqual(Object.keys(await failures('A')).sort(), ['kai-server hb-crashloop.service', 'kai-server hb-oneshot.service']);
    assert.deepEqual(Object.fromEntries(Object.entries(await failures('B')).map(([k, v]) => [k, v.replace(/\d.*$/, '')])), {
      'kai-server hb-crashloop.service': 'exit-code',
      'kai-server hb-oneshot.service': 'exit-code',
    });
    const reloads = await failures('D');
    assert.equal(reloads['kai-server hb-ok.service'], '1', 'the failed reload');
    assert.equal(reloads['kai-server hb-crashloop.service'], '0');
    const notLoaded = await Promise.all(status.map((q) => run(q, only('unit', 'does-not-exist.service'))));
    assert.deepEqual(
      notLoaded.map((series) => series.map((s) => `${s.metric.load_state}=${s.values[0]}`)),
      [[], [], ['not-found=0'], []],
    );
    const counts = await value('Restart count (NRestarts) and starts', only('unit', 'hb-crashloop.service'));
    const seen = counts.flatMap((s) => s.values);
    assert.equal(Math.min(...seen), 4);
    assert.equal(Math.max(...seen), 7);
    // The exporter's own start counter: 0 when first seen, then one per new InvocationID (3 restarts).
    const startsQuery = queries.find((q) => q.panelTitle === 'Restart count (NRestarts) and starts' && q.target.refId === 'B');
    assert.ok(startsQuery);
    const starts = (await run(startsQuery, only('unit', 'hb-crashloop.service'))).flatMap((s) => s.values);
    assert.deepEqual([Math.min(...starts), Math.max(...starts)], [0, 3]);

    // The timers table, one query per column, as Grafana merges them into rows by host and timer.
    const column = async (refId: string): Promise<Record<string, string>> => {
      const q = queries.find((x) => x.panelTitle === 'Timers' && x.target.refId === refId);
      assert.ok(q, `Timers ${refId}`);
      const series = await run(q);
      const cells = series.map((s) => [`${s.metric.host} ${s.metric.unit}`, `${s.metric.result ?? ''}${s.values[0]}`] as const);
      assert.equal(new Set(cells.map(([key]) => key)).size, cells.length, `Timers ${refId}: one value per row`);
      return Object.fromEntries(cells);
    };
    const rows = ['edge-1 hb-tick.timer', 'kai-server hb-stale.timer', 'kai-server hb-tick.timer'];
    const trigger = await column('A');
    assert.deepEqual(Object.keys(trigger).sort(), rows, 'every timer has a row');
    const staleTrigger = (await vm.query('max(systemd_timer_last_trigger_timestamp_seconds{unit="hb-stale.timer"})', evalMs))[0]?.value;
    assert.equal(Number(trigger['kai-server hb-stale.timer']), 1000 * (staleTrigger ?? NaN), 'ms, as Grafana dates want');
    // OnCalendar=2099-01-01 00:00:00 UTC, in ms.
    assert.equal((await column('B'))['kai-server hb-stale.timer'], String(Date.UTC(2099, 0, 1)));
    // The job's last success is one of the runs replayed in the journal (or its inactive-enter time): within the pushes.
    const success = await column('C');
    assert.deepEqual(Object.keys(success).sort(), ['edge-1 hb-tick.timer', 'kai-server hb-tick.timer'], 'hb-stale.service never ran');
    for (const v of Object.values(success)) assert.ok(Number(v) >= history.fromMs - 5000 && Number(v) <= history.toMs, `last success ${v}`);
    // Step 2's run failed; the newest push shows the last run's result only: success.
    assert.deepEqual(await column('D'), { 'edge-1 hb-tick.timer': 'success1', 'kai-server hb-tick.timer': 'success1' });
    assert.deepEqual(
      await column('E'),
      { 'edge-1 hb-tick.timer': '2', 'kai-server hb-tick.timer': '2' },
      'the calendar timer does not repeat',
    );
    // JOB_RUNS_BY_STEP: 4 successes and 1 exit-code, each read once from its step's journal.
    assert.deepEqual(await column('F'), { 'edge-1 hb-tick.timer': '5', 'kai-server hb-tick.timer': '5', 'kai-server hb-stale.timer': '0' });
    assert.deepEqual(await column('G'), { 'edge-1 hb-tick.timer': '1', 'kai-server hb-tick.timer': '1', 'kai-server hb-stale.timer': '0' });
  });

  test('the README preview renders from these same queries (scripts/render-dashboard-preview.ts)', async () => {
    const data = await collectPreview(vm, history);
    assert.ok(data.states.length > 0 && data.restarts.length > 0 && data.age.value.length > 0 && data.age.threshold.length > 0);
    const png = drawPreview(data).toPng();
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal(png.toString('ascii', 12, 16), 'IHDR');
    const committed = readFileSync(new URL('../dashboards/preview.png', import.meta.url));
    assert.deepEqual(
      [png.readUInt32BE(16), png.readUInt32BE(20)],
      [committed.readUInt32BE(16), committed.readUInt32BE(20)],
      'same size as the committed picture',
    );
  });
});
