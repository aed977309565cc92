/**
 * No gaps: a run that cannot be pushed is spooled; the next run that can push sends the
 * backlog first, oldest first, in bounded batches, and removes what was accepted. Each run
 * stays within its time bound: the backlog only gets what the current push does not need.
 */
import { EXIT, HeartbeatError, describeError } from '../errors.ts';
import type { Log } from '../log.ts';
import type { Run } from '../metrics/observe.ts';
import { PushError } from './otlp.ts';
import { overLimits, type Spool, type SpoolLimits } from './spool.ts';

/** At most this many runs (15 minutes of 30 s runs) or observations in one backlog request. */
export const BATCH_RUNS = 30;
export const BATCH_OBSERVATIONS = 50_000;

export interface DeliverDeps {
  readonly push: (runs: readonly Run[], timeoutMs: number) => Promise<void>;
  /** undefined when there is no usable state directory: a failed push then loses the run. */
  readonly spool: Spool | undefined;
  /** Whether this run holds the state directory's lock: only the holder replays the backlog. */
  readonly holdsLock: boolean;
  readonly log: Log;
  readonly remainingMs: () => number;
}

export interface Pruned {
  readonly dropped: number;
  readonly waiting: number;
}

/** Drops what the limits exclude (and leftovers of crashed writes); only for the lock holder. */
export function pruneSpool(spool: Spool, nowMs: number, limits: SpoolLimits, log: Log): Pruned {
  const { entries, leftovers } = spool.list();
  for (const file of leftovers) {
    log.warning(`spool: removed ${file}, a write torn by a crash`);
    spool.remove(file);
  }
  const drops = overLimits(entries, nowMs, limits);
  for (const { entry } of drops) spool.remove(entry.file);
  if (drops.length > 0) {
    const first = new Date(drops[0]?.entry.collectedAtMs ?? 0).toISOString();
    log.warning(`spool: dropped ${drops.length} unsent run(s) from ${first} on (${drops[0]?.reason})`);
  }
  return { dropped: drops.length + leftovers.length, waiting: entries.length - drops.length };
}

export interface Delivered {
  /** Backlog runs dropped while replaying (unreadable, or refused for good). */
  readonly dropped: number;
  readonly replayed: number;
}

/** Sends the backlog (when this run holds the lock), then the run; spools the run on failure. */
export async function deliver(run: Run, deps: DeliverDeps): Promise<Delivered> {
  let dropped = 0;
  let replayed = 0;
  const { log } = deps;
  try {
    if (deps.spool && deps.holdsLock) {
      const backlog = await replayBacklog(deps);
      dropped += backlog.dropped;
      replayed += backlog.replayed;
    }
    await deps.push([run], Math.max(1, deps.remainingMs()));
  } catch (error) {
    if (!(error instanceof HeartbeatError)) throw error;
    throw new HeartbeatError(EXIT.failure, `${error.message}; ${keep(run, deps)}`);
  }
  if (replayed > 0) log.info(`spool: pushed ${replayed} earlier run(s) before this one`);
  return { dropped, replayed };
}

function keep(run: Run, deps: DeliverDeps): string {
  if (!deps.spool) return 'this run is lost (no usable state directory to spool it)';
  try {
    deps.spool.add(run);
    return `this run is kept in ${deps.spool.dir} (${deps.spool.list().entries.length} waiting)`;
  } catch (error) {
    return `this run is lost: spooling it failed (${describeError(error)})`;
  }
}

async function replayBacklog(deps: DeliverDeps): Promise<Delivered> {
  const spool = deps.spool as Spool;
  const { entries } = spool.list();
  let dropped = 0;
  let replayed = 0;
  let batchRuns = BATCH_RUNS;
  let index = 0;
  while (index < entries.length) {
    // Keep a share of the time for this run's own push: half of what is left, at most 2 s.
    const budget = deps.remainingMs() - Math.min(2000, deps.remainingMs() / 2);
    if (budget < 200) {
      deps.log.info(`spool: ${entries.length - index} earlier run(s) left for the next run (time bound)`);
      break;
    }
    const batch: Array<{ file: string; run: Run }> = [];
    let observations = 0;
    while (index < entries.length && batch.length < batchRuns && observations < BATCH_OBSERVATIONS) {
      const entry = entries[index++] as (typeof entries)[number];
      const read = spool.read(entry);
      if ('error' in read) {
        deps.log.warning(`spool: dropped ${entry.file}: ${read.error}`);
        spool.remove(entry.file);
        dropped++;
        continue;
      }
      batch.push({ file: entry.file, run: read });
      observations += read.observations.length;
    }
    if (batch.length === 0) continue;
    try {
      await deps.push(
        batch.map((b) => b.run),
        budget,
      );
    } catch (error) {
      const status = error instanceof PushError ? error.status : undefined;
      if (status === 413 && batch.length > 1) {
        // Too big for the receiver: retry with smaller batches.
        index -= batch.length;
        batchRuns = Math.max(1, Math.floor(batch.length / 2));
        continue;
      }
      if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) {
        // Refused for good (e.g. 400): retrying would block the spool until the age limit.
        deps.log.error(`spool: dropped ${batch.length} earlier run(s) the receiver refuses: ${describeError(error)}`);
        for (const b of batch) spool.remove(b.file);
        dropped += batch.length;
        continue;
      }
      throw error;
    }
    for (const b of batch) spool.remove(b.file);
    replayed += batch.length;
  }
  return { dropped, replayed };
}
