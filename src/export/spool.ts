/**
 * Edge: the spool, `spool/*.run` in the state directory: one file per run that could not be
 * pushed, framed with a length and CRC (state/frame.ts) so a torn or corrupt file is skipped,
 * reported and removed, never parsed. Written like every state file: a temporary name,
 * fsync, rename. Any run may add to it; only the lock holder replays and prunes (deliver.ts).
 */
import { readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Observation, Run } from '../metrics/observe.ts';
import { decodeFrame, encodeFrame } from '../state/frame.ts';
import { STALE_MS, errno, readProblem, readRegularFile, writeAtomically, type StateDir } from '../state/store.ts';
import { METRICS } from '../metrics/definitions.ts';

export interface SpoolLimits {
  /** Runs older than this are dropped unsent (VictoriaMetrics' retention would drop them anyway). */
  readonly maxAgeSeconds: number;
  /** The spool's total size; the oldest runs go first. */
  readonly maxBytes: number;
}

export const DEFAULT_SPOOL_LIMITS: SpoolLimits = { maxAgeSeconds: 24 * 3600, maxBytes: 50 * 1024 * 1024 };

export interface SpoolEntry {
  readonly file: string;
  readonly collectedAtMs: number;
  readonly bytes: number;
}

const RUN_FILE = /^run-(\d{16})-\d+-[0-9a-f]{8}\.run$/;

export class Spool {
  readonly dir: string;

  /** The spool of a state directory (StateDir.open made its directory). */
  constructor(state: StateDir) {
    this.dir = join(state.dir, 'spool');
  }

  /** Keeps a run that could not be pushed; the name sorts by collection time. */
  add(run: Run): string {
    const ms = String(Math.round(run.collectedAt * 1000)).padStart(16, '0');
    const random = Math.floor(Math.random() * 0x1_0000_0000)
      .toString(16)
      .padStart(8, '0');
    const file = `run-${ms}-${process.pid}-${random}.run`;
    writeAtomically(join(this.dir, file), encodeFrame(JSON.stringify(run)));
    return file;
  }

  /** Spooled runs, oldest first. Leftover temporary files of a crashed run are listed as torn. */
  list(): { entries: SpoolEntry[]; leftovers: string[] } {
    const entries: SpoolEntry[] = [];
    const leftovers: string[] = [];
    for (const file of readdirSync(this.dir).sort()) {
      const match = RUN_FILE.exec(file);
      if (!match) {
        // Another run's temporary file may be in flight: only old ones are leftovers.
        try {
          if (Date.now() - statSync(join(this.dir, file)).mtimeMs > STALE_MS) leftovers.push(file);
        } catch {
          // vanished meanwhile
        }
        continue;
      }
      try {
        entries.push({ file, collectedAtMs: Number(match[1]), bytes: statSync(join(this.dir, file)).size });
      } catch {
        // pushed and removed by another run meanwhile
      }
    }
    return { entries, leftovers };
  }

  read(entry: SpoolEntry): Run | { error: string } {
    let bytes: Buffer;
    try {
      bytes = readRegularFile(join(this.dir, entry.file), MAX_RUN_BYTES);
    } catch (error) {
      return { error: `unreadable (${readProblem(error)})` };
    }
    const frame = decodeFrame(bytes);
    if ('error' in frame) return frame;
    let parsed: unknown;
    try {
      parsed = JSON.parse(frame.payload);
    } catch {
      return { error: 'corrupt: not JSON' };
    }
    const run = checkRun(parsed);
    return typeof run === 'string' ? { error: `not a run of ours: ${run}` } : run;
  }

  remove(file: string): void {
    try {
      unlinkSync(join(this.dir, file));
    } catch (error) {
      if (errno(error) !== 'ENOENT') throw error;
    }
  }
}

/** Pure: which spooled runs the limits drop, oldest first, each with the reason. */
export function overLimits(
  entries: readonly SpoolEntry[],
  nowMs: number,
  limits: SpoolLimits,
): Array<{ entry: SpoolEntry; reason: string }> {
  const dropped: Array<{ entry: SpoolEntry; reason: string }> = [];
  const kept: SpoolEntry[] = [];
  for (const entry of entries) {
    if (nowMs - entry.collectedAtMs > limits.maxAgeSeconds * 1000) {
      dropped.push({ entry, reason: `older than ${limits.maxAgeSeconds} s` });
    } else kept.push(entry);
  }
  let total = kept.reduce((sum, e) => sum + e.bytes, 0);
  for (const entry of kept) {
    if (total <= limits.maxBytes) break;
    dropped.push({ entry, reason: `spool over ${limits.maxBytes} bytes` });
    total -= entry.bytes;
  }
  return dropped;
}

/** A spooled run of 1000 units is ~1 MB and 7,000 observations; far bigger ones were not written by a run. */
export const MAX_RUN_BYTES = 16 * 1024 * 1024;
export const MAX_RUN_OBSERVATIONS = 100_000;

const LABELS_OF: ReadonlyMap<string, readonly string[]> = new Map(METRICS.map((m) => [m.name, [...m.labels].sort()]));

/**
 * Pure: a spooled run as this exporter writes it, or what is wrong with it. Checked before it
 * goes into a request, so one bad file cannot fail the push of the others: known metric
 * names with their own label keys, string label values, finite numbers, a bounded size.
 */
export function checkRun(value: unknown): Run | string {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const { collectedAt, observations } = value as { collectedAt?: unknown; observations?: unknown };
  if (typeof collectedAt !== 'number' || !Number.isFinite(collectedAt)) return 'no collection time';
  if (!Array.isArray(observations)) return 'no observations';
  if (observations.length > MAX_RUN_OBSERVATIONS) return `${observations.length} observations, more than ${MAX_RUN_OBSERVATIONS}`;
  for (const [i, o] of observations.entries()) {
    const problem = observationProblem(o);
    if (problem) return `observation ${i}: ${problem}`;
  }
  return { collectedAt, observations: observations as Observation[] };
}

function observationProblem(o: unknown): string | undefined {
  if (typeof o !== 'object' || o === null) return 'not an object';
  const { name, labels, value } = o as { name?: unknown; labels?: unknown; value?: unknown };
  const keys = typeof name === 'string' ? LABELS_OF.get(name) : undefined;
  if (!keys) return `unknown metric ${JSON.stringify(String(name)).slice(0, 80)}`;
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'value is not a finite number';
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) return 'labels are not a map';
  const own = Object.keys(labels).sort();
  if (own.length !== keys.length || own.some((k, i) => k !== keys[i])) return `labels ${own.join(',')} are not ${keys.join(',')}`;
  if (own.some((k) => typeof (labels as Record<string, unknown>)[k] !== 'string')) return 'a label value is not a string';
  return undefined;
}
