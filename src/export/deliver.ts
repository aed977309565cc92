/**
 * No gaps: a run that cannot be pushed is spooled; the next run that can push sends it, then
 * the backlog, oldest first, in bounded batches, and removes what was accepted. Each run stays
 * within its time bound: the backlog only gets what the run's own push left.
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
  /** Backlog runs dropped while replaying (unreadable, not a run of ours, or refused for good). */
  readonly dropped: number;
  readonly replayed: number;
}

/** Time kept back from each push for what follows it (spooling the run, writing state.json): 300 ms, less of a short bound. */
const reserveMs = (remainingMs: number): number => Math.min(300, remainingMs / 4);

/**
 * Pushes the run, then (when this run holds the lock) the backlog; spools the run when its own
 * push fails. The run goes first, so its push never waits for or depends on the backlog, and
 * an accepted run is what shows that the receiver takes pushes: only then is a spooled run it
 * still refuses dropped. While every push is refused, nothing is dropped (the spool's age and
 * size limits are the bound) and the run says so in one line.
 */
export async function deliver(run: Run, deps: DeliverDeps): Promise<Delivered> {
  try {
    await deps.push([run], Math.max(1, deps.remainingMs() - reserveMs(deps.remainingMs())));
  } catch (error) {
    if (!(error instanceof HeartbeatError)) throw error;
    throw new HeartbeatError(EXIT.failure, `${error.message}; ${keep(run, deps)}`);
  }
  if (!deps.spool || !deps.holdsLock) return { dropped: 0, replayed: 0 };
  const replay = await replayBacklog(deps.spool, deps);
  for (const line of replay.lines) deps.log.warning(line);
  if (replay.replayed > 0) deps.log.info(`spool: pushed ${replay.replayed} earlier run(s) after this one`);
  return { dropped: replay.dropped, replayed: replay.replayed };
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

/** A status that says this payload will never be taken (not the receiver's state, not our credentials). */
function refusesPayload(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && ![401, 403, 407, 408, 429].includes(status);
}

interface Replay extends Delivered {
  /** At most one line per kind of problem. */
  readonly lines: string[];
}

/** The backlog, oldest first, in bounded batches, after the run itself was accepted. */
async function replayBacklog(spool: Spool, deps: DeliverDeps): Promise<Replay> {
  const { entries } = spool.list();
  const invalid: string[] = [];
  const refused: string[] = [];
  let replayed = 0;
  let stopped: string | undefined;
  let batchRuns = BATCH_RUNS;
  let index = 0;
  while (index < entries.length) {
    const budget = deps.remainingMs() - reserveMs(deps.remainingMs());
    if (budget < 200) {
      stopped = 'time bound';
      break;
    }
    const batch: Array<{ file: string; run: Run }> = [];
    let observations = 0;
    while (index < entries.length && batch.length < batchRuns && observations < BATCH_OBSERVATIONS) {
      const entry = entries[index++] as (typeof entries)[number];
      const read = spool.read(entry);
      if ('error' in read) {
        invalid.push(`${entry.file}: ${read.error}`);
        spool.remove(entry.file);
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
      if (batch.length > 1 && (status === 413 || refusesPayload(status))) {
        // Too big, or one run in it refused: again in halves, down to single runs.
        index -= batch.length;
        batchRuns = Math.max(1, Math.floor(batch.length / 2));
        continue;
      }
      if (refusesPayload(status) || status === 413) {
        // The receiver took this run's own push and refuses this one run: it never will take it.
        refused.push(describeError(error));
        for (const b of batch) spool.remove(b.file);
        continue;
      }
      stopped = describeError(error);
      break;
    }
    for (const b of batch) spool.remove(b.file);
    replayed += batch.length;
    batchRuns = BATCH_RUNS;
  }
  const lines: string[] = [];
  if (invalid.length > 0) lines.push(`spool: dropped ${invalid.length} earlier run(s) that are not readable runs: ${summarise(invalid)}`);
  if (refused.length > 0) {
    lines.push(`spool: dropped ${refused.length} earlier run(s) the receiver refuses while it takes this run: ${summarise(refused)}`);
  }
  const left = spool.list().entries.length;
  if (stopped && left > 0) lines.push(`spool: ${left} earlier run(s) left for the next run (${stopped})`);
  return { dropped: invalid.length + refused.length, replayed, lines };
}

/** The first reason, and how many more there were. */
function summarise(reasons: readonly string[]): string {
  return `${reasons[0]}${reasons.length > 1 ? ` (and ${reasons.length - 1} more)` : ''}`;
}
