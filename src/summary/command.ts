/**
 * Edge: `summary` — reads the config, asks VictoriaMetrics (src/vm/prometheus-api.ts), prints
 * the report. Every edge (config file, API, clock) is injectable.
 */
import { hostname } from '../hostname.ts';
import { resolveConfig } from '../config.ts';
import type { CommandContext } from '../commands/context.ts';
import { EXIT, HeartbeatError, describeError } from '../errors.ts';
import { readFileIfExists } from '../read-file.ts';
import { createPrometheusApi, splitCredentials, type PrometheusApi, type PrometheusApiOptions } from '../vm/prometheus-api.ts';
import { SUMMARY_USAGE, parseSummaryArgs } from './args.ts';
import { buildSummary } from './findings.ts';
import { planWindow, runQueries, type QueryResults } from './queries.ts';
import { renderSummary } from './render.ts';

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

/**
 * Test hook, not a flag and not in --help: SYSTEMD_HEARTBEAT_TEST_NOW=<unix seconds> fixes the
 * window's end so a report of backfilled history is reproducible (docs/summary.md).
 */
export const TEST_NOW_ENV = 'SYSTEMD_HEARTBEAT_TEST_NOW';

function testNow(env: Readonly<Record<string, string | undefined>>): number | undefined {
  const text = env[TEST_NOW_ENV];
  if (text === undefined || text === '') return undefined;
  const now = Number(text);
  if (!(Number.isFinite(now) && now > 0))
    throw new HeartbeatError(EXIT.usage, `${TEST_NOW_ENV}: ${JSON.stringify(text)} must be unix seconds`);
  return now;
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
  const window = planWindow(args.since, args.sinceSeconds, testNow(ctx.env) ?? edges.now(), args.intervalSeconds);
  // One deadline for every query, kept referenced until the queries end (an unreferenced
  // AbortSignal.timeout() can be collected and never fire, node#57736); the first failure
  // cancels the rest, so the process ends now.
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), args.timeoutMs);
  const api = edges.createApi({
    baseUrl: target.url,
    headers: { ...config.headers, ...target.headers },
    signal: deadline.signal,
    timeoutMs: args.timeoutMs,
  });
  let results: QueryResults;
  try {
    results = await runQueries(api, window, args.host, args.tenant);
  } catch (error) {
    deadline.abort();
    if (error instanceof HeartbeatError) throw error;
    throw new HeartbeatError(EXIT.failure, `querying VictoriaMetrics failed: ${describeError(error)}`);
  } finally {
    clearTimeout(timer);
  }
  const summary = buildSummary(results, window, args.host);
  ctx.stdout(renderSummary(summary, args.format, args.limit, args.verbose));
  return summary.exitCode;
}
