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
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { EMPTY_STATE, decodeState, type State } from './decode.ts';

/** state.json of 10,000 units and timers is ~2 MB. */
const MAX_STATE_BYTES = 16 * 1024 * 1024;

/** A lock or temporary file older than this belongs to no live run (a run is bounded at 25 s). */
export const STALE_MS = 60_000;

/**
 * A temp file's name part: this process, this moment and a random part. Every temp file is
 * created O_EXCL, so a name taken already fails the write instead of writing through it, and
 * the directories are the exporter's own or root's: the name needs to be unique, not secret.
 * Not node:crypto's randomBytes: loading crypto cost every tick ~3 ms (scripts/bench/ab.ts).
 */
export function tempSuffix(): string {
  return `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * Writes a new file beside `path` (exclusive, unguessable name: a planted symlink or file at a
 * predictable name is never followed), fsyncs and renames it into place. A failed write (a
 * full disk) removes its temp file.
 */
export function writeAtomically(path: string, data: string | Buffer): void {
  const tmp = `${path}.tmp-${tempSuffix()}`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    try {
      writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (error) {
    removeIfExists(tmp);
    throw error;
  }
}

/**
 * A state or spool file's bytes: opened without following a link and without blocking (a FIFO
 * planted in its place), read only when it is a regular file of at most `maxBytes`.
 */
export function readRegularFile(path: string, maxBytes: number): Buffer {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new StateFileError('not a regular file');
    if (stat.size > maxBytes) throw new StateFileError(`${stat.size} bytes, more than the ${maxBytes} a file here can hold`);
    const buffer = Buffer.alloc(stat.size);
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/** A file in the state directory that is not what it should be (its message says how). */
export class StateFileError extends Error {}

/** Why a file could not be read, in a few words: the errno (ELOOP: a symlink) or what is wrong with it. */
export function readProblem(error: unknown): string {
  if (error instanceof StateFileError) return error.message;
  const code = errno(error);
  return code === 'ELOOP' ? 'a symlink, not followed' : (code ?? String(error));
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

/**
 * Removes a file, if it is there: unlink, since Node's rm with force loads its internal rimraf
 * module (node 20), and a tick that keeps no records removes show-cache.json every run.
 */
export function removeIfExists(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if (errno(error) !== 'ENOENT') throw error;
  }
}

export class StateDir {
  #locked = false;

  private constructor(readonly dir: string) {}

  /**
   * Creates the directory (0700) with the spool's below it; throws with the path and errno when
   * it cannot, and refuses one that another user owns or that others may write: whoever can
   * write it could plant links or files there that this run would read or replace.
   */
  static open(dir: string): StateDir {
    makeDirs(join(dir, 'spool'), 0o700);
    for (const d of [dir, join(dir, 'spool')]) {
      const stat = statSync(d);
      const uid = process.getuid?.();
      if (uid !== undefined && stat.uid !== uid) throw new StateFileError(`${d} is owned by uid ${stat.uid}, not by this user (${uid})`);
      if ((stat.mode & 0o022) !== 0) {
        throw new StateFileError(`${d} is writable by others (mode ${(stat.mode & 0o7777).toString(8)}): chmod go-w it`);
      }
    }
    return new StateDir(dir);
  }

  get locked(): boolean {
    return this.#locked;
  }

  /** true when this run holds the lock now; false when another live run does. */
  tryLock(): boolean {
    const path = join(this.dir, 'lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      let fd: number;
      try {
        fd = openSync(path, 'wx', 0o600);
      } catch (error) {
        if (errno(error) !== 'EEXIST') throw error;
        if (!this.#lockIsStale(path)) return false;
        removeIfExists(path);
        continue;
      }
      try {
        writeSync(fd, `${process.pid}\n`);
      } catch (error) {
        // A full disk: an empty lock left behind would read as another run's for the next one.
        closeSync(fd);
        removeIfExists(path);
        throw error;
      }
      closeSync(fd);
      this.#locked = true;
      return true;
    }
    return false;
  }

  #lockIsStale(path: string): boolean {
    try {
      const age = Date.now() - statSync(path).mtimeMs;
      if (age > STALE_MS) return true;
      const pid = Number(readRegularFile(path, 64).toString('utf8').trim());
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
      text = readRegularFile(join(this.dir, 'state.json'), MAX_STATE_BYTES).toString('utf8');
    } catch (error) {
      if (errno(error) === 'ENOENT') return { state: EMPTY_STATE };
      return { state: EMPTY_STATE, problem: `state.json unreadable (${readProblem(error)}), starting afresh` };
    }
    let state: State | undefined;
    try {
      state = decodeState(JSON.parse(text));
    } catch {
      // not JSON
    }
    return state ? { state } : { state: EMPTY_STATE, problem: 'state.json is not a state file, starting afresh (counters restart at 0)' };
  }

  writeState(state: State): void {
    writeAtomically(join(this.dir, 'state.json'), `${JSON.stringify(state)}\n`);
  }
}
