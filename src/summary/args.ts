/**
 * Pure: `summary`'s command line -> SummaryArgs, with the one flag parser (src/args.ts) and the
 * one duration grammar (src/duration.ts). The window's end is not a flag: it comes from the
 * command's `now` edge (src/summary/command.ts).
 */
import { parseFlags, type FlagSpec } from '../args.ts';
import { DEFAULT_PERIOD_SECONDS } from '../defaults.ts';
import { parseDuration } from '../duration.ts';
import { usageError } from '../errors.ts';

/** All queries together; a summary is no tick, it is not held to the unit's 15 s. */
const SUMMARY_TIMEOUT_BOUNDS = { minMs: 100, maxMs: 25_000 } as const;

export const SUMMARY_DEFAULTS = {
  since: '24h',
  /** The exporter timer's period (install's default); `--interval` when yours differs. */
  intervalSeconds: DEFAULT_PERIOD_SECONDS,
  /** Queries of a busy day take longer than one push, hence more than run's 5 s. */
  timeoutMs: 10_000,
  /** Rows per section in text and markdown; JSON always lists everything. */
  limit: 20,
} as const;

export const SUMMARY_USAGE = `Usage: systemd-heartbeat summary [options]

Reports, per host, what went wrong with the watched units in a recent window, from the
metrics stored in VictoriaMetrics: failed units, restarts and restart loops, stale or
never-fired timers, timer jobs' runs by result (a job that failed every run is a problem),
failures by result, failed reloads, allowlisted units that are not loaded, and the
exporter's own coverage. Hosts with problems come first; healthy ones are counted.

Options:
      --since DUR      the window, ending now: 90s, 10m, 24h, 7d, 1h30m (default 24h, 1m to 31d)
      --host NAME      only this host (default: every host that sent data in the window)
      --format FMT     text (default; table is the same), markdown or json
      --vm-url URL     VictoriaMetrics' query URL (default: scheme, host and port of the push
                       endpoint); user:password in it becomes Basic auth
      --timeout DUR    bound on all queries together (default 10s, 100ms to 25s)
      --limit N        rows per section in text and markdown (default 20, 0 = all)
      --interval DUR   the exporter's period, for coverage and gaps (default 30s)
  -v, --verbose        text and markdown list every healthy host too (default: their count)
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
  readonly config: string | undefined;
  readonly endpoint: string | undefined;
  readonly headers: readonly string[];
  /** Text and markdown list every healthy host too (by default: one line with their count). */
  readonly verbose: boolean;
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
  '--config': { kind: 'value' },
  '--endpoint': { kind: 'value' },
  '--header': { kind: 'list' },
  '--verbose': { kind: 'switch', aliases: ['-v'] },
  '--help': { kind: 'switch', aliases: ['-h'] },
};

export function parseSummaryArgs(argv: readonly string[]): SummaryArgs {
  const flags = parseFlags(argv, SUMMARY_FLAGS, { command: 'summary', help: 'summary --help' });
  const values = flags.values;
  const headers = flags.lists.get('--header') ?? [];
  const help = flags.switches.includes('--help');
  const since = values.get('--since') ?? SUMMARY_DEFAULTS.since;
  // `table` is what run and list call their text output: the same here.
  const formatText = values.get('--format') ?? 'text';
  const format = formatText === 'table' ? 'text' : formatText;
  if (format !== 'text' && format !== 'markdown' && format !== 'json') {
    throw usageError(`--format: ${JSON.stringify(formatText)} must be text (or table), markdown or json`);
  }
  const host = values.get('--host');
  if (host === '') throw usageError('--host must not be empty');
  const limitText = values.get('--limit');
  const limit = limitText === undefined ? SUMMARY_DEFAULTS.limit : Number(limitText);
  if (!Number.isInteger(limit) || limit < 0 || limitText?.trim() === '') {
    throw usageError(`--limit: ${JSON.stringify(limitText)} must be a whole number (0 shows all)`);
  }
  const timeout = values.get('--timeout');
  const interval = values.get('--interval');
  return {
    since,
    sinceSeconds: parseSeconds(since, '--since', 60, 31 * 86_400),
    host,
    format,
    vmUrl: values.get('--vm-url'),
    timeoutMs:
      timeout === undefined
        ? SUMMARY_DEFAULTS.timeoutMs
        : parseDuration(timeout, { field: '--timeout', ...SUMMARY_TIMEOUT_BOUNDS, bare: 's' }),
    limit,
    intervalSeconds: interval === undefined ? SUMMARY_DEFAULTS.intervalSeconds : parseSeconds(interval, '--interval', 1, 3600),
    config: values.get('--config'),
    endpoint: values.get('--endpoint'),
    headers,
    verbose: flags.switches.includes('--verbose'),
    help,
  };
}
