/**
 * Edge: the files and tools install and uninstall touch (InstallIO), below an install root, and
 * injected like collect.ts's RunSystemctl so tests run both commands into a temporary root.
 */
import {
  chmodSync,
  constants,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { EXIT, HeartbeatError, describeError } from '../errors.ts';
import type { RunSystemctl } from '../systemd/collect.ts';
import { tempSuffix } from '../state/store.ts';
import { posix } from 'node:path';
import { execFile } from 'node:child_process';

export interface InstallIO {
  exists(path: string): boolean;
  /** A file to copy from: the built dist/, not below the root. */
  isSourceFile(path: string): boolean;
  writeFile(path: string, content: string): void;
  copyFile(from: string, to: string): void;
  mkdirp(path: string): void;
  /** A file or symlink; no-op when absent. Returns whether something was removed. */
  removeFile(path: string): boolean;
  removeTree(path: string): boolean;
  /** Removes the directory when empty; returns whether it did. */
  removeDirIfEmpty(path: string): boolean;
  /** Mode bits of a file, undefined when absent. */
  mode(path: string): number | undefined;
  /** A small text file's content (the operator's environment and config files), undefined when absent or unreadable. */
  readFile(path: string): string | undefined;
  readonly systemctl: RunSystemctl;
  /** `systemd-sysusers CONF` (below the root): creates the users a sysusers.d file declares. */
  readonly createUsers: (confPath: string) => Promise<void>;
  /** `userdel NAME` and its group (below the root). */
  readonly deleteUser: (name: string) => Promise<void>;
  /** `NODE MAKER DIR` (MAKER and DIR below the root): the code cache for that node, in DIR. */
  readonly makeCodeCache: (node: string, maker: string, dir: string) => Promise<void>;
}

/** Runs a tool from PATH, bounded; rejects with its first stderr line. */
function runTool(
  binary: string,
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  timeoutMs = 25_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      binary,
      args,
      {
        env: { PATH: env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        encoding: 'utf8',
      },
      (error, _stdout, stderr) => {
        if (!error) return resolve();
        const e = error as NodeJS.ErrnoException;
        const detail =
          e.code === 'ENOENT' ? 'not found on PATH' : `exited with ${String(e.code)}: ${stderr.trim().split('\n')[0] || e.message}`;
        reject(new HeartbeatError(EXIT.failure, `${binary} ${detail}`));
      },
    );
  });
}

/** Real files and tools below `root` ('' = /), and the given systemctl. */
export function createFsIO(root: string, systemctl: RunSystemctl, env: Readonly<Record<string, string | undefined>> = {}): InstallIO {
  const at = (p: string): string => (root ? posix.join(root, p) : p);
  const wrap = <T>(what: string, path: string, fn: () => T): T => {
    try {
      return fn();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const hint = code === 'EACCES' || code === 'EPERM' ? ' (a system install needs root; or use --user)' : '';
      throw new HeartbeatError(EXIT.failure, `${what} ${at(path)}: ${code ?? describeError(error)}${hint}`);
    }
  };
  return {
    exists: (p) => existsSync(at(p)) || isSymlink(at(p)),
    isSourceFile: (p) => {
      try {
        return statSync(p).isFile();
      } catch {
        return false;
      }
    },
    // Files are written to a new temp file beside their place and renamed over it: a symlink
    // planted at a unit or bundle path is replaced, never written through, and a reader never
    // sees half a file. Modes are set explicitly, whatever the installing shell's umask.
    writeFile: (p, content) =>
      wrap('cannot write', p, () => replaceFile(at(p), (tmp) => writeFileSync(tmp, content, { flag: 'wx', mode: 0o644 }))),
    copyFile: (from, to) =>
      wrap('cannot copy to', to, () => {
        if (sameFile(from, at(to))) return; // re-running install from the installed copy
        replaceFile(at(to), (tmp) => copyFileSync(from, tmp, constants.COPYFILE_EXCL));
      }),
    mkdirp: (p) =>
      wrap('cannot create', p, () => {
        // Each directory install creates gets 0755 (a 077 umask would leave the service user unable to load the bundle).
        const missing: string[] = [];
        for (let dir = at(p); !existsSync(dir) && dir !== posix.dirname(dir); dir = posix.dirname(dir)) missing.push(dir);
        mkdirSync(at(p), { recursive: true, mode: 0o755 });
        for (const dir of missing) chmodSync(dir, 0o755);
      }),
    removeFile: (p) =>
      wrap('cannot remove', p, () => {
        if (!isSymlink(at(p)) && !existsSync(at(p))) return false;
        unlinkSync(at(p));
        return true;
      }),
    removeTree: (p) =>
      wrap('cannot remove', p, () => {
        if (!isSymlink(at(p)) && !existsSync(at(p))) return false;
        rmSync(at(p), { recursive: true, force: true });
        return true;
      }),
    removeDirIfEmpty: (p) =>
      wrap('cannot remove', p, () => {
        if (!existsSync(at(p)) || readdirSync(at(p)).length > 0) return false;
        rmdirSync(at(p));
        return true;
      }),
    mode: (p) => {
      try {
        return statSync(at(p)).mode & 0o7777;
      } catch {
        return undefined;
      }
    },
    readFile: (p) => {
      try {
        if (statSync(at(p)).size > 1024 * 1024) return undefined;
        return readFileSync(at(p), 'utf8');
      } catch {
        return undefined;
      }
    },
    systemctl,
    createUsers: (confPath) => runTool('systemd-sysusers', [...(root ? [`--root=${root}`] : []), at(confPath)], env),
    deleteUser: async (name) => {
      const rootArgs = root ? ['--root', root] : [];
      await runTool('userdel', [...rootArgs, name], env);
      // userdel takes the group along only under USERGROUPS_ENAB; exit 6: no such group left.
      await runTool('groupdel', [...rootArgs, name], env).catch((error: unknown) => {
        if (!/exited with 6\b/.test(describeError(error))) throw error;
      });
    },
    // Two warm-up ticks of the bundle on recorded output; a minute is plenty on a busy host.
    makeCodeCache: (node, maker, dir) => runTool(node, [at(maker), at(dir)], env, 60_000),
  };
}

/** Writes a fresh temp file (exclusive, unique name) with `write`, sets 0644, renames it to `path`. */
function replaceFile(path: string, write: (tmp: string) => void): void {
  const tmp = `${posix.dirname(path)}/.${posix.basename(path)}.${tempSuffix()}.tmp`;
  try {
    write(tmp);
    chmodSync(tmp, 0o644);
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

function sameFile(a: string, b: string): boolean {
  try {
    const [sa, sb] = [statSync(a), statSync(b)];
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
