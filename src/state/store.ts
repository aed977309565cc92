/**
 * Edge: the state directory. Holds `state.json` (what the previous run remembered), the
 * spool (`spool/*.run`, one file per run that could not be pushed) and `lock`.
 *
 * - Crash-safe: every file is written to a temporary name, fsynced and renamed into place,
 *   and spool records are framed with a length and CRC (frame.ts): a torn or corrupt file
 *   is skipped, reported and removed, never parsed.
 * - Two runs at once (a manual run during a timer run): each spools its own run under a
 *   unique name without the lock; only the holder of `lock` (O_EXCL, holding its pid)
 *   replays, prunes and writes state.json. A lock whose process is gone, or older than any
 *   run can live (60 s; a run is bounded at 25 s), is taken over.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Run } from '../export/otlp.ts';
import type { Observation } from '../metrics/observe.ts';
import { decodeFrame, encodeFrame } from './frame.ts';
import type { StartsMemory } from './starts.ts';
import type { TimersMemory } from './timers.ts';

export interface SpoolLimits {
  /** Runs older than this are dropped unsent (VictoriaMetrics' retention would drop them anyway). */
  readonly maxAgeSeconds: number;
  /** The spool's total size; the oldest runs go first. */
  readonly maxBytes: number;
}

export const DEFAULT_SPOOL_LIMITS: SpoolLimits = { maxAgeSeconds: 24 * 3600, maxBytes: 50 * 1024 * 1024 };

/** Where the next journal read starts: after `cursor`, or (no entry seen yet) at `since`. */
export interface JournalPosition {
  readonly cursor?: string;
  readonly since?: number;
  /** Whether the last read could read the journal: a change is logged once, not every tick. */
  readonly readable?: boolean;
}

export interface State {
  readonly units: StartsMemory;
  /** Runs ever dropped from the spool unsent (systemd_heartbeat_spool_dropped_runs_total). */
  readonly spoolDropped: number;
  readonly timers: TimersMemory;
  readonly journal: JournalPosition;
}

export const EMPTY_STATE: State = { units: {}, spoolDropped: 0, timers: {}, journal: {} };

export interface SpoolEntry {
  readonly file: string;
  readonly collectedAtMs: number;
  readonly bytes: number;
}

const LOCK_STALE_MS = 60_000;
const RUN_FILE = /^run-(\d{16})-\d+-[0-9a-f]{8}\.run$/;

function writeAtomically(path: string, data: string | Buffer): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/**
 * mkdir -p, one component at a time: Node 20's recursive mkdirSync never returns for some
 * paths under /proc (it retries ENOENT forever), and a run must always end.
 */
function makeDirs(path: string, mode: number): void {
  // The usual case, every run after the first: one stat, no EEXIST thrown per component.
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) return;
  let current = '';
  for (const part of path.split('/').filter((p) => p !== '')) {
    current += `/${part}`;
    try {
      mkdirSync(current, { mode });
    } catch (error) {
      if (errno(error) !== 'EEXIST') throw error;
    }
  }
  if (!statSync(path).isDirectory()) throw new Error(`${path} is not a directory`);
}

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

export class StateDir {
  readonly spoolDir: string;
  #locked = false;

  private constructor(readonly dir: string) {
    this.spoolDir = join(dir, 'spool');
  }

  /** Creates the directories (0700); throws with the path and errno when it cannot. */
  static open(dir: string): StateDir {
    const state = new StateDir(dir);
    makeDirs(state.spoolDir, 0o700);
    return state;
  }

  get locked(): boolean {
    return this.#locked;
  }

  /** true when this run holds the lock now; false when another live run does. */
  tryLock(): boolean {
    const path = join(this.dir, 'lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx', 0o600);
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        this.#locked = true;
        return true;
      } catch (error) {
        if (errno(error) !== 'EEXIST') throw error;
      }
      if (!this.#lockIsStale(path)) return false;
      try {
        unlinkSync(path);
      } catch (error) {
        if (errno(error) !== 'ENOENT') throw error;
      }
    }
    return false;
  }

  #lockIsStale(path: string): boolean {
    try {
      const age = Date.now() - statSync(path).mtimeMs;
      if (age > LOCK_STALE_MS) return true;
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (!Number.isInteger(pid) || pid <= 0) return age > 1000; // being written, or garbage
      process.kill(pid, 0);
      return false;
    } catch (error) {
      return errno(error) === 'ESRCH' || errno(error) === 'ENOENT';
    }
  }

  unlock(): void {
    if (!this.#locked) return;
    this.#locked = false;
    try {
      unlinkSync(join(this.dir, 'lock'));
    } catch {
      // Gone already: nothing to release.
    }
  }

  /** The remembered state; a missing file is a first run, an unreadable one starts afresh. */
  readState(): { state: State; problem?: string } {
    let text: string;
    try {
      text = readFileSync(join(this.dir, 'state.json'), 'utf8');
    } catch (error) {
      if (errno(error) === 'ENOENT') return { state: EMPTY_STATE };
      return { state: EMPTY_STATE, problem: `state.json unreadable (${errno(error) ?? String(error)}), starting afresh` };
    }
    try {
      const parsed = JSON.parse(text) as unknown;
      if (typeof parsed === 'object' && parsed !== null) {
        const { units, spoolDropped, timers, journal } = parsed as Record<string, unknown>;
        const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
        if (isRecord(units) && typeof spoolDropped === 'number') {
          // timers and journal came later: a state file without them is still good.
          return {
            state: {
              units: units as StartsMemory,
              spoolDropped,
              timers: isRecord(timers) ? (timers as TimersMemory) : {},
              journal: isRecord(journal) ? (journal as JournalPosition) : {},
            },
          };
        }
      }
    } catch {
      // fall through
    }
    return { state: EMPTY_STATE, problem: 'state.json is not a state file, starting afresh (counters restart at 0)' };
  }

  writeState(state: State): void {
    writeAtomically(join(this.dir, 'state.json'), JSON.stringify(state) + '\n');
  }

  /** Keeps a run that could not be pushed; the name sorts by collection time. */
  spool(run: Run): string {
    const ms = String(Math.round(run.collectedAt * 1000)).padStart(16, '0');
    const random = Math.floor(Math.random() * 0x1_0000_0000).toString(16).padStart(8, '0');
    const file = `run-${ms}-${process.pid}-${random}.run`;
    writeAtomically(join(this.spoolDir, file), encodeFrame(JSON.stringify(run)));
    return file;
  }

  /** Spooled runs, oldest first. Leftover temporary files of a crashed run are listed as torn. */
  list(): { entries: SpoolEntry[]; leftovers: string[] } {
    const entries: SpoolEntry[] = [];
    const leftovers: string[] = [];
    for (const file of readdirSync(this.spoolDir).sort()) {
      const match = RUN_FILE.exec(file);
      if (!match) {
        // Another run's temporary file may be in flight: only old ones are leftovers.
        try {
          if (Date.now() - statSync(join(this.spoolDir, file)).mtimeMs > LOCK_STALE_MS) leftovers.push(file);
        } catch {
          // vanished meanwhile
        }
        continue;
      }
      try {
        entries.push({ file, collectedAtMs: Number(match[1]), bytes: statSync(join(this.spoolDir, file)).size });
      } catch {
        // pushed and removed by another run meanwhile
      }
    }
    return { entries, leftovers };
  }

  read(entry: SpoolEntry): Run | { error: string } {
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(this.spoolDir, entry.file));
    } catch (error) {
      return { error: `unreadable (${errno(error) ?? String(error)})` };
    }
    const frame = decodeFrame(bytes);
    if ('error' in frame) return frame;
    try {
      const run = JSON.parse(frame.payload) as { collectedAt?: unknown; observations?: unknown };
      if (typeof run.collectedAt === 'number' && Array.isArray(run.observations)) {
        return { collectedAt: run.collectedAt, observations: run.observations as Observation[] };
      }
    } catch {
      // fall through
    }
    return { error: 'corrupt: not a run' };
  }

  remove(file: string): void {
    try {
      unlinkSync(join(this.spoolDir, file));
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
