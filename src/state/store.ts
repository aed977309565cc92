/**
 * Edge: the state directory. Holds `state.json` (what the previous run remembered), `lock`, and
 * the spool of unsent runs (`spool/`, export/spool.ts).
 *
 * - Crash-safe: every file is written to a temporary name, fsynced and renamed into place.
 * - Two runs at once (a manual run during a timer run): each spools its own run under a
 *   unique name without the lock; only the holder of `lock` (O_EXCL, holding its pid)
 *   replays, prunes and writes state.json. A lock whose process is gone, or older than any
 *   run can live (60 s; a run is bounded at 25 s), is taken over.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { JournalPosition } from './journal-position.ts';
import type { StartsMemory } from './starts.ts';
import type { TimersMemory } from './timers.ts';

export interface State {
  readonly units: StartsMemory;
  /** Runs ever dropped from the spool unsent (systemd_heartbeat_spool_dropped_runs_total). */
  readonly spoolDropped: number;
  readonly timers: TimersMemory;
  readonly journal: JournalPosition;
}

export const EMPTY_STATE: State = { units: {}, spoolDropped: 0, timers: {}, journal: {} };

/** A lock or temporary file older than this belongs to no live run (a run is bounded at 25 s). */
export const STALE_MS = 60_000;

export function writeAtomically(path: string, data: string | Buffer): void {
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
export function makeDirs(path: string, mode: number): void {
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

export function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

export class StateDir {
  #locked = false;

  private constructor(readonly dir: string) {}

  /** Creates the directory (0700) with the spool's below it; throws with the path and errno when it cannot. */
  static open(dir: string): StateDir {
    makeDirs(join(dir, 'spool'), 0o700);
    return new StateDir(dir);
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
      if (age > STALE_MS) return true;
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
    writeAtomically(join(this.dir, 'state.json'), `${JSON.stringify(state)}\n`);
  }
}
