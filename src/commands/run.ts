/**
 * `run` (the default): collect once, push once. `--dry-run` prints instead of pushing, and
 * `list` prints the resolved allowlist.
 */
import type { Config } from '../config.ts';
import { reportProblems } from './problems.ts';
import { EXIT, HeartbeatError, describeError } from '../errors.ts';
import { deliver, pruneSpool } from '../export/deliver.ts';
import { pushRuns } from '../export/otlp.ts';
import { Spool } from '../export/spool.ts';
import type { Log } from '../log.ts';
import { toObservations, type Observation, type Remembered, type Run } from '../metrics/observe.ts';
import { advanceJournal, journalFrom } from '../state/journal-position.ts';
import { countStarts } from '../state/starts.ts';
import { EMPTY_STATE, type State } from '../state/decode.ts';
import { StateDir } from '../state/store.ts';
import { accountFailures } from '../state/failures.ts';
import { accountTimers } from '../state/timers.ts';
import { readShowCache, removeShowCache, writeShowCache } from '../state/show-cache.ts';
import { collect, type Clock, type CollectOptions, type Collection, type RunJournalctl, type RunSystemctl } from '../systemd/collect.ts';
import type { JournalFrom } from '../systemd/journal.ts';
import { redactUrl } from '../url.ts';

export interface RunDeps {
  readonly config: Config;
  readonly run: RunSystemctl;
  /** journalctl for timer jobs' runs; undefined where the journal is not read (the user scope). */
  readonly journal?: RunJournalctl;
  readonly readClock: () => Clock;
  readonly log: Log;
  readonly print: (text: string) => void;
  /** Milliseconds left of the run's time bound. */
  readonly remainingMs: () => number;
  /** Told how many units a tick reads (src/tuning.ts). */
  readonly tune?: (units: number) => Promise<void>;
  /** PID 1's invocation links and the boot id (system scope): with them a tick shows only what may have changed. */
  readonly runtime?: {
    readonly readInvocations: (ids: readonly string[]) => ReadonlyMap<string, string> | undefined;
    readonly bootId: () => string | undefined;
  };
}

export type OutputFormat = 'table' | 'json';

async function collectAndReport(deps: RunDeps, journalFrom?: JournalFrom, cache?: CollectOptions['cache']): Promise<Collection> {
  const collection = await collect({
    patterns: deps.config.units,
    host: deps.config.host,
    run: deps.run,
    readClock: deps.readClock,
    ...(deps.tune ? { tune: deps.tune } : {}),
    ...(deps.journal && journalFrom ? { journal: { run: deps.journal, from: journalFrom } } : {}),
    ...(cache ? { cache } : {}),
  });
  for (const line of reportProblems(collection.problems, deps.config.scope).lines) deps.log.warning(line);
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
  return [`# host=${host}, ${observations.length} observations`, line('METRIC', 'VALUE', 'LABELS'), ...rows.map((r) => line(...r))].join(
    '\n',
  );
}

/** The state directory, locked when no other run holds it; undefined (logged) when unusable. */
function openState(deps: RunDeps, lock: boolean): { dir: StateDir | undefined; state: State } {
  let dir: StateDir;
  try {
    dir = StateDir.open(deps.config.stateDir);
  } catch (error) {
    deps.log.warning(
      `state directory ${deps.config.stateDir} unusable (${describeError(error)}): a failed push loses its run, and systemd_unit_starts_total is not kept`,
    );
    return { dir: undefined, state: EMPTY_STATE };
  }
  try {
    if (lock && !dir.tryLock()) deps.log.info('another run holds the state directory: no backlog replay this time');
  } catch (error) {
    deps.log.warning(`state directory ${deps.config.stateDir}: cannot take the lock (${describeError(error)})`);
  }
  const { state, problem } = dir.readState();
  if (problem) deps.log.warning(`state directory ${deps.config.stateDir}: ${problem}`);
  return { dir, state };
}

export async function runOnce(deps: RunDeps, options: { dryRun: boolean; format: OutputFormat }): Promise<number> {
  // A dry run reads the state but changes nothing: no lock, no pruning, no saving.
  const { dir, state } = openState(deps, !options.dryRun);
  try {
    const reads = options.dryRun || dir?.locked === true;
    const startedAt = deps.readClock().realtime;
    // Only the run that holds the state directory keeps records between ticks; a dry run shows every unit.
    const keeps = !options.dryRun && dir?.locked === true && deps.runtime !== undefined;
    const cache = keeps && dir && deps.runtime ? showCacheOptions(deps, dir, deps.runtime) : undefined;
    const collection = await collectAndReport(deps, journalFrom(state.journal, reads, startedAt), cache);
    if (cache && dir) keepShowCache(deps, dir, collection.showCache);
    return await finishRun(deps, options, collection, dir, state, startedAt);
  } finally {
    dir?.unlock();
  }
}

function showCacheOptions(deps: RunDeps, dir: StateDir, runtime: NonNullable<RunDeps['runtime']>): NonNullable<CollectOptions['cache']> {
  return {
    read: () => {
      const { cache, problem } = readShowCache(dir.dir);
      if (problem) deps.log.warning(`state directory ${deps.config.stateDir}: ${problem}`);
      return cache;
    },
    bootId: runtime.bootId(),
    fullShowSeconds: deps.config.fullShowSeconds,
    readInvocations: runtime.readInvocations,
  };
}

/** Saves the records when they changed; removes them when this tick could not make them, so the next shows every unit. */
function keepShowCache(deps: RunDeps, dir: StateDir, next: Collection['showCache']): void {
  try {
    if (next === undefined) {
      // Records this tick could not make or the next cannot use; also whatever stood in their place.
      removeShowCache(dir.dir);
    } else if (next.changed) {
      writeShowCache(dir.dir, next.cache);
    }
  } catch (error) {
    deps.log.warning(
      `state directory ${deps.config.stateDir}: cannot save the shown units (${describeError(error)}); the next run shows every unit`,
    );
    try {
      removeShowCache(dir.dir);
    } catch {
      // Neither written nor removed: state.json cannot be saved either, so the next run reads the journal from where this one did.
    }
  }
}

async function finishRun(
  deps: RunDeps,
  options: { dryRun: boolean; format: OutputFormat },
  collection: Collection,
  dir: StateDir | undefined,
  state: State,
  startedAt: number,
): Promise<number> {
  const nowMs = collection.snapshot.clock.realtime * 1000;
  const limits = { maxAgeSeconds: deps.config.spoolMaxAgeSeconds, maxBytes: deps.config.spoolMaxBytes };
  const spool = dir && new Spool(dir);
  const pruned = spool && dir?.locked ? pruneSpool(spool, nowMs, limits, deps.log) : undefined;
  const counts = dir?.locked || options.dryRun;
  const units = counts ? countStarts(state.units, collection.snapshot.units) : state.units;
  const reading = collection.journal;
  const timers = counts ? accountTimers(state.timers, collection.timers, reading, collection.snapshot.clock) : state.timers;
  const failures = counts ? accountFailures(state.failures, collection.snapshot.units, reading, collection.snapshot.clock) : state.failures;
  let journal = state.journal;
  if (reading) {
    const advanced = advanceJournal(state.journal, reading, { startedAt, collectedAt: collection.snapshot.clock.realtime });
    for (const notice of advanced.notices) deps.log[notice.level](notice.message);
    journal = advanced.position;
  }
  let spoolDropped = state.spoolDropped + (pruned?.dropped ?? 0);
  const remembered: Remembered | undefined = dir && {
    starts: Object.fromEntries(Object.entries(units).map(([unit, memory]) => [unit, memory.starts])),
    spooledRuns: pruned?.waiting ?? (spool as Spool).list().entries.length,
    spoolDropped,
    timers,
    failures,
    ...(reading ? { journalReadable: reading.readable } : {}),
  };
  const observations = toObservations(collection.snapshot, remembered);
  if (options.dryRun) {
    if (options.format === 'json') {
      const { host, clock } = collection.snapshot;
      deps.print(
        JSON.stringify(
          { host, endpoint: redactUrl(deps.config.endpoint), collectedAt: clock.realtime, observations, problems: collection.problems },
          null,
          2,
        ),
      );
    } else {
      deps.print(`${formatTable(observations, deps.config.host)}\n${pushLine(deps.config.endpoint)}`);
    }
  } else {
    const push = (runs: readonly Run[], timeoutMs: number): Promise<void> =>
      pushRuns(runs, { endpoint: deps.config.endpoint, headers: deps.config.headers, timeoutMs });
    const run = { collectedAt: collection.snapshot.clock.realtime, observations };
    try {
      const delivered = await deliver(run, { push, spool, holdsLock: dir?.locked === true, log: deps.log, remainingMs: deps.remainingMs });
      spoolDropped += delivered.dropped;
    } finally {
      if (dir?.locked) {
        try {
          dir.writeState({ units, spoolDropped, timers, journal, failures });
        } catch (error) {
          deps.log.warning(`state directory ${deps.config.stateDir}: cannot save state (${describeError(error)})`);
        }
      }
    }
  }
  if (collection.problems.length > 0) {
    throw new HeartbeatError(
      EXIT.failure,
      `${options.dryRun ? 'collected' : 'pushed'} a partial collection: ${collection.problems.length} read(s) failed (logged above)`,
    );
  }
  return EXIT.ok;
}

/** Where a run pushes, credentials removed: list and --dry-run say it so a wrong endpoint shows before the first push. */
function pushLine(endpoint: string): string {
  return `a run pushes to ${redactUrl(endpoint)}`;
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
    deps.print(
      JSON.stringify(
        { units: rows, unmatchedGlobs: collection.emptyGlobs, endpoint: redactUrl(deps.config.endpoint), problems: collection.problems },
        null,
        2,
      ),
    );
  } else {
    const w = Math.max(4, ...rows.map((r) => r.unit.length));
    const lines = [`${'UNIT'.padEnd(w)}  LOAD        ACTIVE      SUB`];
    for (const r of rows) lines.push(`${r.unit.padEnd(w)}  ${r.load.padEnd(10)}  ${r.active.padEnd(10)}  ${r.sub}`.trimEnd());
    for (const g of collection.emptyGlobs) lines.push(`${g.padEnd(w)}  (glob matched no loaded unit)`);
    lines.push(
      `${rows.length} unit(s)${deps.config.units.length === 0 ? ' (the allowlist is empty: set --unit, SYSTEMD_HEARTBEAT_UNITS or "units" in the config file)' : ''}`,
      pushLine(deps.config.endpoint),
    );
    deps.print(lines.join('\n'));
  }
  if (collection.problems.length > 0) {
    throw new HeartbeatError(EXIT.failure, `${collection.problems.length} read(s) failed (logged above)`);
  }
  return EXIT.ok;
}
