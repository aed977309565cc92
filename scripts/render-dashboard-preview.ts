/**
 * dashboards/preview.png: the dashboard's key panels drawn from real data, so a README reader
 * sees what it shows without running Grafana.
 *
 *   node --import tsx scripts/render-dashboard-preview.ts   (needs .cache/victoria-metrics and dist/, as npm test makes)
 *
 * The data is made exactly as test/dashboard.test.ts makes it: a real VictoriaMetrics 1.112.0,
 * the built exporter run 8 times for 2 hosts on recorded systemd 252 output
 * (test/support/dashboard-data.ts), and the dashboard's own queries, interpolated the way
 * Grafana does (test/support/grafana.ts). Nothing is drawn that a query did not return.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  PUSH_GAP_MS,
  pushHistory,
  runDashboardQuery,
  type History,
  type QueriedSeries,
  type QueryRange,
} from '../test/support/dashboard-data.ts';
import {
  extractQueries,
  queryVariables,
  resolveVariables,
  timeVariables,
  type ExtractedQuery,
  type VariableState,
} from '../test/support/grafana.ts';
import { startVictoria, type Victoria } from '../test/support/victoria.ts';
import { DASHBOARD_PATH } from './build-dashboard.ts';
import { Canvas, hex, type Rgb } from './preview/canvas.ts';

export const PREVIEW_PATH = fileURLToPath(new URL('../dashboards/preview.png', import.meta.url));

/** The host the per-unit panels are shown for, as if picked in the Host variable. */
const SHOWN_HOST = 'kai-server';

export interface PreviewData {
  readonly fromMs: number;
  readonly toMs: number;
  readonly runs: number;
  /** The range queries' step. */
  readonly stepMs: number;
  readonly hosts: readonly string[];
  readonly stats: ReadonlyArray<{ title: string; series: QueriedSeries[] }>;
  readonly failed: QueriedSeries[];
  readonly states: QueriedSeries[];
  readonly restarts: QueriedSeries[];
  readonly starts: QueriedSeries[];
  readonly age: { unit: string; value: QueriedSeries[]; threshold: QueriedSeries[] };
}

function findQuery(queries: readonly ExtractedQuery[], title: string, refId = 'A'): ExtractedQuery {
  const q = queries.find((x) => x.panelTitle === title && x.target.refId === refId);
  if (!q) throw new Error(`the dashboard has no panel "${title}" (${refId}): update the preview with the dashboard`);
  return q;
}

/** Runs the panels the picture shows over `history`, which pushHistory() wrote into `vm`. */
export async function collectPreview(vm: Victoria, history: History): Promise<PreviewData> {
  const dashboard = JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as Record<string, unknown>;
  const queries = extractQueries(dashboard);
  const range: QueryRange = { fromMs: history.fromMs - 2000, toMs: history.toMs + 1000, scrapeIntervalMs: PUSH_GAP_MS };
  const all = await resolveVariables(queryVariables(dashboard), (m) => vm.series(m, range.fromMs, range.toMs));
  const pick = (_name: string, values: string[]): VariableState => ({ multi: true, includeAll: true, values });
  const oneHost = { ...all, host: pick('host', [SHOWN_HOST]) };
  const run = (title: string, vars: Record<string, VariableState>, refId = 'A'): Promise<QueriedSeries[]> =>
    runDashboardQuery(vm, findQuery(queries, title, refId), vars, range);
  const statTitles = ['Failed units now', 'Units not loaded', 'Restarts in range', 'Stale timers', 'Exporter heartbeat age'];
  const timer = { ...oneHost, unit: pick('unit', ['hb-tick.timer']) };
  return {
    fromMs: range.fromMs,
    toMs: range.toMs,
    runs: history.steps,
    stepMs: timeVariables({ ...range, maxDataPoints: 1000 }).stepMs,
    hosts: history.hosts,
    stats: await Promise.all(statTitles.map(async (title) => ({ title, series: await run(title, all) }))),
    failed: await run('Failed units now (with Result)', all),
    states: await run('State and sub-state', oneHost),
    restarts: await run('Restart count (NRestarts) and starts', oneHost),
    starts: await run('Restart count (NRestarts) and starts', oneHost, 'B'),
    age: {
      unit: 'hb-tick.timer',
      value: await run('Seconds since active', timer, 'A'),
      threshold: await run('Seconds since active', timer, 'B'),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Drawing, in Grafana's dark theme colours.

const BG = hex('#111217');
const PANEL = hex('#181b1f');
const BORDER = hex('#2c3235');
const TEXT = hex('#ccccdc');
const DIM = hex('#8e8e8e');
const GREEN = hex('#73bf69');
const RED = hex('#f2495c');
const ORANGE = hex('#ff9830');
const BLUE = hex('#5794f2');
const PALETTE = ['#73bf69', '#fade2a', '#5794f2', '#ff9830', '#b877d9', '#6ed0e0', '#f2495c'].map(hex);

const hhmmss = (ms: number): string => new Date(ms).toISOString().slice(11, 19);

function panelBox(c: Canvas, x: number, y: number, w: number, h: number, title: string): void {
  c.rect(x, y, w, h, PANEL);
  c.line(x, y, x + w - 1, y, BORDER);
  c.line(x, y + h - 1, x + w - 1, y + h - 1, BORDER);
  c.line(x, y, x, y + h - 1, BORDER);
  c.line(x + w - 1, y, x + w - 1, y + h - 1, BORDER);
  c.text(x + 10, y + 8, title, TEXT, 2);
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

interface Plot {
  x: number;
  y: number;
  w: number;
  h: number;
  fromMs: number;
  toMs: number;
  max: number;
}

function axes(c: Canvas, p: Plot, unit: string): void {
  for (let i = 0; i <= 4; i++) {
    const v = (p.max * i) / 4;
    const y = p.y + p.h - (p.h * i) / 4;
    c.line(p.x, y, p.x + p.w, y, BORDER);
    const label = `${Number(v.toFixed(1))}${unit}`;
    c.text(p.x - Canvas.textWidth(label) - 6, y - 7, label, DIM, 2);
  }
  timeTicks(c, p.x, p.y + p.h, p.w, p.fromMs, p.toMs);
}

function timeTicks(c: Canvas, x: number, y: number, w: number, fromMs: number, toMs: number): void {
  const span = toMs - fromMs;
  const stepMs = span > 40_000 ? 10_000 : 5_000;
  for (let t = Math.ceil(fromMs / stepMs) * stepMs; t <= toMs; t += stepMs) {
    const tx = x + ((t - fromMs) / span) * w;
    const label = hhmmss(t);
    const lx = tx - Canvas.textWidth(label) / 2;
    if (lx < x - 4 || lx + Canvas.textWidth(label) > x + w + 4) continue;
    c.line(tx, y, tx, y + 5, DIM);
    c.text(lx, y + 9, label, DIM, 2);
  }
}

const px = (p: Plot, t: number): number => p.x + ((t - p.fromMs) / (p.toMs - p.fromMs)) * p.w;
const py = (p: Plot, v: number): number => p.y + p.h - (Math.min(v, p.max) / p.max) * p.h;

/** A series as a line; `stepped` draws a counter as Grafana's stepAfter interpolation. */
function drawSeries(c: Canvas, p: Plot, s: QueriedSeries, color: Rgb, stepped: boolean, dash?: [number, number]): void {
  let prev: [number, number] | undefined;
  s.timestamps.forEach((t, i) => {
    const v = s.values[i] as number;
    if (!Number.isFinite(v)) {
      prev = undefined;
      return;
    }
    const pt: [number, number] = [px(p, t), py(p, v)];
    if (prev) {
      if (stepped) {
        c.line(prev[0], prev[1], pt[0], prev[1], color, 2, dash);
        c.line(pt[0], prev[1], pt[0], pt[1], color, 2, dash);
      } else c.line(prev[0], prev[1], pt[0], pt[1], color, 2, dash);
    }
    prev = pt;
  });
}

function legend(c: Canvas, x: number, y: number, entries: Array<[string, Rgb]>, maxWidth: number): void {
  let cx = x;
  let cy = y;
  for (const [label, color] of entries) {
    const w = 26 + Canvas.textWidth(label) + 18;
    if (cx + w > x + maxWidth) {
      cx = x;
      cy += 22;
    }
    c.rect(cx, cy + 6, 18, 4, color);
    c.text(cx + 24, cy, label, TEXT, 2);
    cx += w;
  }
}

function statTile(c: Canvas, x: number, y: number, w: number, h: number, title: string, series: QueriedSeries[]): void {
  const values = series.map((s) => s.values[0] as number);
  if (title === 'Exporter heartbeat age') {
    const worst = Math.max(...values);
    c.rect(x, y, w, h, worst >= 300 ? RED : worst >= 90 ? ORANGE : GREEN);
    c.text(x + 10, y + 8, title, BG, 2);
    for (const [i, s] of series.entries())
      c.text(x + 12, y + 40 + i * 30, `${s.metric.host}: ${Math.round(s.values[0] as number)} s`, BG, 3);
    return;
  }
  const v = values[0] ?? NaN;
  const bad = title === 'Units not loaded' || title === 'Restarts in range' ? ORANGE : RED;
  c.rect(x, y, w, h, Number.isFinite(v) && v >= 1 ? bad : GREEN);
  c.text(x + 10, y + 8, title, BG, 2);
  const label = Number.isFinite(v) ? String(Math.round(v)) : 'No data';
  c.text(x + (w - Canvas.textWidth(label, 8)) / 2, y + 38, label, BG, 8);
}

export function drawPreview(d: PreviewData): Canvas {
  const W = 1280;
  const H = 1010;
  const c = new Canvas(W, H, BG);
  const M = 16;
  c.text(M, 14, 'systemd heartbeat', TEXT, 4);
  c.text(M + Canvas.textWidth('systemd heartbeat', 4) + 20, 24, `Grafana dashboard preview, drawn from its own queries`, DIM, 2);
  c.text(
    M,
    56,
    `${d.runs} exporter runs x ${d.hosts.length} hosts, ${PUSH_GAP_MS / 1000} s apart, replaying recorded systemd 252 output -> VictoriaMetrics 1.112.0`,
    DIM,
    2,
  );
  c.text(M, 78, `${new Date(d.fromMs).toISOString().slice(0, 10)} ${hhmmss(d.fromMs)} - ${hhmmss(d.toMs)} UTC`, DIM, 2);

  // Overview row: five stats.
  const statY = 104;
  const gap = 10;
  const widths = [225, 225, 225, 225];
  const lastW = W - 2 * M - widths.reduce((a, b) => a + b + gap, 0);
  let sx = M;
  d.stats.forEach((s, i) => {
    const w = widths[i] ?? lastW;
    statTile(c, sx, statY, w, 112, s.title, s.series);
    sx += w + gap;
  });

  // Failed units table.
  const tY = statY + 124;
  const rows = d.failed.map((s) => [s.metric.host ?? '', s.metric.unit ?? '', s.metric.result ?? '']);
  const tH = 72 + Math.max(1, rows.length) * 24;
  panelBox(c, M, tY, W - 2 * M, tH, 'Failed units now (with Result)');
  const cols = [M + 14, M + 300, M + 700];
  for (const [i, h] of ['Host', 'Unit', 'Result'].entries()) c.text(cols[i] as number, tY + 36, h, DIM, 2);
  for (const [ri, r] of rows.entries()) {
    for (const [i, cell] of r.entries()) c.text(cols[i] as number, tY + 60 + ri * 24, cell, i === 2 ? RED : TEXT, 2);
  }
  if (rows.length === 0) c.text(cols[0] as number, tY + 60, 'no failed units', DIM, 2);

  // The repeated per-unit row, merged over all units of one host.
  const rY = tY + tH + 14;
  c.text(M, rY, `Per-unit rows (one per selected unit in Grafana; here all units of host ${SHOWN_HOST} together)`, TEXT, 2);

  // State and sub-state: one lane per series.
  const lanes = [...d.states].sort((a, b) =>
    `${a.metric.unit} ${a.metric.sub_state}`.localeCompare(`${b.metric.unit} ${b.metric.sub_state}`),
  );
  const laneH = 24;
  const sY = rY + 24;
  const sH = 44 + lanes.length * laneH + 40;
  panelBox(c, M, sY, W - 2 * M, sH, 'State and sub-state');
  const labelW = 330;
  const lx = M + labelW;
  const lw = W - 2 * M - labelW - 20;
  const span = d.toMs - d.fromMs;
  lanes.forEach((s, i) => {
    const y = sY + 40 + i * laneH;
    c.text(M + 12, y + 4, `${s.metric.unit} ${s.metric.sub_state}`, TEXT, 2);
    // Like Grafana's state timeline (mergeValues): a value holds until the next step; equal
    // neighbours merge; a step without a value is a gap.
    const stepMs = d.stepMs;
    const x = (t: number): number => lx + ((Math.min(t, d.toMs) - d.fromMs) / span) * lw;
    let j = 0;
    while (j < s.timestamps.length) {
      const v = s.values[j] as number;
      let k = j;
      while (
        k + 1 < s.timestamps.length &&
        s.values[k + 1] === v &&
        (s.timestamps[k + 1] as number) - (s.timestamps[k] as number) <= stepMs
      )
        k++;
      if (Number.isFinite(v)) {
        const x0 = x(s.timestamps[j] as number);
        c.rect(x0, y, Math.max(2, x((s.timestamps[k] as number) + stepMs) - x0 - 1), laneH - 4, v >= 1 ? GREEN : BLUE);
      }
      j = k + 1;
    }
  });
  timeTicks(c, lx, sY + 40 + lanes.length * laneH + 2, lw, d.fromMs, d.toMs);
  legend(
    c,
    lx + lw - 330,
    sY + 8,
    [
      ['active', GREEN],
      ['inactive', BLUE],
    ],
    330,
  );

  // Restart count and seconds since active, side by side.
  const cY = sY + sH + 12;
  const cH = H - cY - M;
  const halfW = (W - 2 * M - gap) / 2;
  panelBox(c, M, cY, halfW, cH, 'Restart count');
  const restarts = [...d.restarts].sort((a, b) => (a.metric.unit ?? '').localeCompare(b.metric.unit ?? ''));
  const colorOf = (unit: string | undefined): Rgb =>
    PALETTE[
      Math.max(
        0,
        restarts.findIndex((s) => s.metric.unit === unit),
      ) % PALETTE.length
    ] as Rgb;
  const rMax = niceMax(Math.max(...[...restarts, ...d.starts].flatMap((s) => s.values.filter(Number.isFinite))));
  const rPlot: Plot = { x: M + 60, y: cY + 40, w: halfW - 80, h: cH - 140, fromMs: d.fromMs, toMs: d.toMs, max: rMax };
  axes(c, rPlot, '');
  for (const s of d.starts) drawSeries(c, rPlot, s, colorOf(s.metric.unit), true, [8, 6]);
  for (const s of restarts) drawSeries(c, rPlot, s, colorOf(s.metric.unit), true);
  c.text(M + 12, cY + cH - 26, 'solid: NRestarts   dashed: starts seen', DIM, 2);
  legend(
    c,
    M + 12,
    cY + cH - 74,
    restarts.map((s, i) => [String(s.metric.unit), PALETTE[i % PALETTE.length] as Rgb]),
    halfW - 24,
  );

  const aX = M + halfW + gap;
  panelBox(c, aX, cY, halfW, cH, `Seconds since active: ${d.age.unit}`);
  const ageValues = [...d.age.value, ...d.age.threshold].flatMap((s) => s.values.filter(Number.isFinite));
  const aPlot: Plot = {
    x: aX + 60,
    y: cY + 40,
    w: halfW - 80,
    h: cH - 140,
    fromMs: d.fromMs,
    toMs: d.toMs,
    max: niceMax(Math.max(...ageValues)),
  };
  axes(c, aPlot, 's');
  for (const s of d.age.threshold) drawSeries(c, aPlot, s, RED, false, [10, 8]);
  for (const s of d.age.value) drawSeries(c, aPlot, s, BLUE, false);
  legend(
    c,
    aX + 12,
    cY + cH - 66,
    [
      [`${SHOWN_HOST} seconds since active`, BLUE],
      [`stale threshold (2x interval)`, RED],
    ],
    halfW - 24,
  );
  return c;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const vm = await startVictoria();
  try {
    const data = await collectPreview(vm, await pushHistory(vm));
    writeFileSync(PREVIEW_PATH, drawPreview(data).toPng());
    process.stdout.write(`wrote ${PREVIEW_PATH}\n`);
  } finally {
    await vm.stop();
  }
}
