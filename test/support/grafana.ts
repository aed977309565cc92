/**
 * What Grafana does to a dashboard's Prometheus queries before they reach the data source,
 * reproduced so a test can run the committed dashboard's queries against a real
 * VictoriaMetrics: variable interpolation (the Prometheus data source's escaping and the
 * `(a|b)` form for multi-value and All), `$__interval` / `$__rate_interval` / `$__range`,
 * repeated rows, and `label_values()` variable queries. Pure, except label values, which
 * take the lookup as a function.
 *
 * Followed from Grafana 10-12 (public/app/plugins/datasource/prometheus and
 * packages/grafana-data rangeutil): interpolateQueryExpr, prometheusRegularEscape,
 * prometheusSpecialRegexEscape, calculateInterval/roundInterval, getRateIntervalScopedVariable.
 */

export interface DashboardTarget {
  readonly refId: string;
  readonly expr: string;
  readonly legendFormat?: string;
  readonly instant?: boolean;
  readonly range?: boolean;
  readonly format?: string;
  readonly datasource?: unknown;
}

export interface ExtractedQuery {
  readonly panelId: number;
  readonly panelTitle: string;
  readonly panelType: string;
  /** The variable the enclosing row repeats over, if any. */
  readonly repeat: string | undefined;
  readonly target: DashboardTarget;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Every target of every panel, in dashboard order. A panel belongs to the nearest row above it
 * (a collapsed row carries its panels inside); that row's `repeat` applies to it.
 */
export function extractQueries(dashboard: Json): ExtractedQuery[] {
  const out: ExtractedQuery[] = [];
  let repeat: string | undefined;
  const visit = (panel: Json, rowRepeat: string | undefined): void => {
    for (const t of Array.isArray(panel.targets) ? panel.targets : []) {
      if (!isObject(t)) continue;
      out.push({
        panelId: Number(panel.id),
        panelTitle: String(panel.title ?? ''),
        panelType: String(panel.type),
        repeat: typeof panel.repeat === 'string' ? panel.repeat : rowRepeat,
        target: t as unknown as DashboardTarget,
      });
    }
  };
  for (const panel of Array.isArray(dashboard.panels) ? dashboard.panels : []) {
    if (!isObject(panel)) continue;
    if (panel.type === 'row') {
      repeat = typeof panel.repeat === 'string' ? panel.repeat : undefined;
      for (const inner of Array.isArray(panel.panels) ? panel.panels : []) if (isObject(inner)) visit(inner, repeat);
      continue;
    }
    visit(panel, repeat);
  }
  return out;
}

/** prometheusRegularEscape: a single-value variable inside a quoted string. */
export function regularEscape(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/'/g, "\\\\'");
}

/** prometheusSpecialRegexEscape: a value that ends up inside a regex matcher (=~). */
export function specialRegexEscape(value: string): string {
  return value.replace(/\\/g, '\\\\\\\\').replace(/[$^*{}[\]'+?.()|]/g, '\\\\$&');
}

export interface VariableState {
  readonly multi: boolean;
  readonly includeAll: boolean;
  /** The selected values; for All, every option (Grafana's default when no allValue is set). */
  readonly values: readonly string[];
}

/** interpolateQueryExpr of the Prometheus data source. */
export function formatVariable(state: VariableState): string {
  if (!state.multi && !state.includeAll) return regularEscape(state.values[0] ?? '');
  const escaped = state.values.map(specialRegexEscape);
  if (escaped.length === 1) return escaped[0] as string;
  return `(${escaped.join('|')})`;
}

/** Grafana's variable syntaxes: $name, ${name}, ${name:format}, [[name]]. */
const VARIABLE_RE = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}/g;

/** Variable names an expression refers to. */
export function referencedVariables(expr: string): string[] {
  return [...expr.matchAll(VARIABLE_RE)].map((m) => (m[1] ?? m[2] ?? m[4]) as string);
}

/**
 * Replaces every variable; `builtins` are already-formatted values ($__interval, ...).
 * Throws on a variable it does not know, as an unresolved `$x` would reach the data source.
 */
export function interpolate(
  expr: string,
  variables: Readonly<Record<string, VariableState>>,
  builtins: Readonly<Record<string, string>>,
): string {
  return expr.replace(VARIABLE_RE, (whole, a?: string, b?: string, _fmt?: string, c?: string) => {
    const name = (a ?? b ?? c) as string;
    const builtin = builtins[name];
    if (builtin !== undefined) return builtin;
    const state = variables[name];
    if (!state) throw new Error(`unknown variable ${whole} in ${expr}`);
    return formatVariable(state);
  });
}

/** rangeutil.roundInterval: the "nice" interval Grafana picks for range/resolution. */
export function roundInterval(ms: number): number {
  const table: Array<[number, number]> = [
    [15, 10],
    [35, 20],
    [75, 50],
    [150, 100],
    [250, 200],
    [350, 300],
    [450, 400],
    [750, 500],
    [1500, 1000],
    [3500, 2000],
    [7500, 5000],
    [12500, 10000],
    [17500, 15000],
    [25000, 20000],
    [45000, 30000],
    [90000, 60000],
    [210000, 120000],
    [450000, 300000],
    [750000, 600000],
    [1050000, 900000],
    [1500000, 1200000],
    [2700000, 1800000],
    [5400000, 3600000],
    [9000000, 7200000],
    [16200000, 10800000],
    [32400000, 21600000],
    [86400000, 43200000],
    [604800000, 86400000],
    [1814400000, 604800000],
    [3628800000, 2592000000],
  ];
  for (const [below, value] of table) if (ms < below) return value;
  return 31536000000;
}

/** rangeutil.secondsToHms for the round intervals it is given here: 500ms, 2s, 1m, 1h. */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms >= 3_600_000) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms >= 60_000) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms >= 1000) return `${ms / 1000}s`;
  return `${ms}ms`;
}

export interface TimeContext {
  readonly fromMs: number;
  readonly toMs: number;
  /** The panel's width in points (Grafana: its pixel width); 1000 is a wide panel. */
  readonly maxDataPoints: number;
  /** The data source's "Scrape interval" (timeInterval) in ms: the floor of $__interval. */
  readonly scrapeIntervalMs: number;
}

export interface TimeVariables {
  readonly intervalMs: number;
  /** The range query step Grafana sends (= $__interval for Prometheus). */
  readonly stepMs: number;
  readonly builtins: Record<string, string>;
}

/** calculateInterval + the Prometheus data source's $__rate_interval and $__range. */
export function timeVariables(ctx: TimeContext): TimeVariables {
  const rangeMs = ctx.toMs - ctx.fromMs;
  const intervalMs = Math.max(roundInterval(rangeMs / ctx.maxDataPoints), ctx.scrapeIntervalMs);
  const rateMs = Math.max(intervalMs + ctx.scrapeIntervalMs, 4 * ctx.scrapeIntervalMs);
  const rangeS = Math.round(rangeMs / 1000);
  return {
    intervalMs,
    stepMs: intervalMs,
    builtins: {
      __interval: formatDuration(intervalMs),
      __interval_ms: String(intervalMs),
      // getRateIntervalScopedVariable writes plain seconds: "120s", not "2m".
      __rate_interval: `${rateMs / 1000}s`,
      __range: `${rangeS}s`,
      __range_s: String(rangeS),
      __range_ms: String(rangeMs),
    },
  };
}

/** `label_values(metric{matchers}, label)`, the Prometheus variable query form. */
export function parseLabelValues(query: string): { match: string | undefined; label: string } | undefined {
  const m = /^\s*label_values\(\s*(?:(.+?)\s*,\s*)?([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$/.exec(query);
  if (!m) return undefined;
  return { match: m[1], label: m[2] as string };
}

export interface QueryVariable {
  readonly name: string;
  readonly query: string;
  readonly multi: boolean;
  readonly includeAll: boolean;
}

/**
 * Resolves query variables in dashboard order, each interpolated with the ones before it
 * (host -> unit), the way Grafana chains them; All without allValue selects every option.
 * `series` is the data source's series lookup (label_values(selector, label) reads it).
 */
export async function resolveVariables(
  variables: readonly QueryVariable[],
  series: (match: string) => Promise<Array<Record<string, string>>>,
): Promise<Record<string, VariableState>> {
  const out: Record<string, VariableState> = {};
  for (const v of variables) {
    const lv = parseLabelValues(interpolate(v.query, out, {}));
    if (!lv?.match) throw new Error(`${v.name}: only label_values(selector, label) is supported, got ${v.query}`);
    const found = (await series(lv.match)).map((s) => s[lv.label]).filter((x): x is string => x !== undefined && x !== '');
    out[v.name] = { multi: v.multi, includeAll: v.includeAll, values: [...new Set(found)].sort() };
  }
  return out;
}

/** The query variables of a dashboard's templating list. */
export function queryVariables(dashboard: Record<string, unknown>): QueryVariable[] {
  const templating = dashboard.templating;
  const list = isObject(templating) && Array.isArray(templating.list) ? templating.list : [];
  return list
    .filter(isObject)
    .filter((v) => v.type === 'query')
    .map((v) => ({
      name: String(v.name),
      query: String(v.query),
      multi: v.multi === true,
      includeAll: v.includeAll === true,
    }));
}
