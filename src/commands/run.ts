/**
 * `run` (the default): collect once, push once. `--dry-run` prints instead of pushing, and
 * `list` prints the resolved allowlist.
 */
import type { Config } from '../config.ts';
import { EXIT, HeartbeatError, describeError } from '../errors.ts';
import { pushOnce } from '../export/otlp.ts';
import { toObservations, type Clock, type Observation } from '../metrics/observe.ts';
import { collect, type Collection, type RunSystemctl } from '../systemd/collect.ts';
import type { Log } from '../log.ts';

export interface RunDeps {
  readonly config: Config;
  readonly run: RunSystemctl;
  readonly readClock: () => Clock;
  readonly log: Log;
  readonly print: (text: string) => void;
  /** Milliseconds left of the run's time bound. */
  readonly remainingMs: () => number;
}

export type OutputFormat = 'table' | 'json';

async function collectAndReport(deps: RunDeps): Promise<Collection> {
  const collection = await collect({
    patterns: deps.config.units,
    host: deps.config.host,
    run: deps.run,
    readClock: deps.readClock,
  });
  for (const problem of collection.problems) deps.log.warning(`could not read: ${problem}`);
  return collection;
}

function formatLabels(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .filter(([k]) => k !== 'host')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

function formatValue(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}

export function formatTable(observations: readonly Observation[], host: string): string {
  const rows = observations.map((o) => [o.name, formatValue(o.value), formatLabels(o.labels)] as const);
  const width = (i: 0 | 1): number => Math.max(...rows.map((r) => r[i].length), i === 0 ? 6 : 5);
  const line = (a: string, b: string, c: string): string => `${a.padEnd(width(0))}  ${b.padStart(width(1))}  ${c}`.trimEnd();
  return [`# host=${host}, ${observations.length} observations`, line('METRIC', 'VALUE', 'LABELS'), ...rows.map((r) => line(...r))].join('\n');
}

export async function runOnce(deps: RunDeps, options: { dryRun: boolean; format: OutputFormat }): Promise<number> {
  const collection = await collectAndReport(deps);
  const observations = toObservations(collection.snapshot);
  if (options.dryRun) {
    if (options.format === 'json') {
      const { host, clock } = collection.snapshot;
      deps.print(JSON.stringify({ host, collectedAt: clock.realtime, observations, problems: collection.problems }, null, 2));
    } else {
      deps.print(formatTable(observations, deps.config.host));
    }
  } else {
    await pushOnce(observations, {
      endpoint: deps.config.endpoint,
      headers: deps.config.headers,
      timeoutMs: Math.max(1, deps.remainingMs()),
    });
  }
  if (collection.problems.length > 0) {
    throw new HeartbeatError(
      EXIT.failure,
      `${options.dryRun ? 'collected' : 'pushed'} a partial collection: ${collection.problems.length} read(s) failed (logged above)`,
    );
  }
  return EXIT.ok;
}

export async function listUnits(deps: RunDeps, format: OutputFormat): Promise<number> {
  const collection = await collectAndReport(deps);
  const rows = collection.snapshot.units.map(({ name, status }) => ({
    unit: name,
    load: status?.loadState ?? 'unreadable',
    active: status?.activeState ?? '',
    sub: status?.subState ?? '',
  }));
  if (format === 'json') {
    deps.print(JSON.stringify({ units: rows, unmatchedGlobs: collection.emptyGlobs, problems: collection.problems }, null, 2));
  } else {
    const w = Math.max(4, ...rows.map((r) => r.unit.length));
    const lines = [`${'UNIT'.padEnd(w)}  LOAD        ACTIVE      SUB`];
    for (const r of rows) lines.push(`${r.unit.padEnd(w)}  ${r.load.padEnd(10)}  ${r.active.padEnd(10)}  ${r.sub}`.trimEnd());
    for (const g of collection.emptyGlobs) lines.push(`${g.padEnd(w)}  (glob matched no loaded unit)`);
    lines.push(`${rows.length} unit(s)${deps.config.units.length === 0 ? ' (the allowlist is empty: set --unit, SYSTEMD_HEARTBEAT_UNITS or "units" in the config file)' : ''}`);
    deps.print(lines.join('\n'));
  }
  if (collection.problems.length > 0) {
    throw new HeartbeatError(EXIT.failure, `${collection.problems.length} read(s) failed: ${describeError(collection.problems[0])}`);
  }
  return EXIT.ok;
}
