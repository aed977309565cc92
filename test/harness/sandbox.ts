/**
 * Test harness: a real systemd 252 booted as PID 1 of its own namespaces (test/harness/launch.sh
 * does the isolation and refuses to boot unless it verifies it), with the hb-* fixture units,
 * driven from tests through `nsenter`.
 *
 * Every process here is tracked by PID (and start time, so a reused PID is never hit) and only
 * those are ever signalled; an exit/signal hook SIGKILLs a sandbox a crashed test left behind and
 * removes its cgroup. Every wait is bounded.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  rmdirSync,
  statfsSync,
  writeFileSync,
} from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { atProcessEnd } from '../support/process-end.ts';

export const HARNESS_DIR: string = fileURLToPath(new URL('.', import.meta.url)).replace(/\/$/, '');
export const LAUNCHER = join(HARNESS_DIR, 'launch.sh');
export const FIXTURE_UNITS_DIR = join(HARNESS_DIR, 'units');
export const FIXTURE_USER_UNITS_DIR = join(HARNESS_DIR, 'user-units');
/** systemd is exec'd with --unit= this: only what it pulls in starts. */
export const SANDBOX_TARGET = 'hb-sandbox.target';
export const USER_TARGET = 'hb-user.target';
/** The age launch.sh gives hb-stale.timer's stamp file before boot. */
export const STALE_TIMER_AGE_SECONDS = 3 * 24 * 3600;
/** This host's cgroup layout is hybrid: cgroup2 lives here, and the sandbox gets a subtree of it. */
export const CGROUP2_ROOT = '/sys/fs/cgroup/unified';
/** XDG_RUNTIME_DIR of root's user manager inside the sandbox (startUserManager). */
export const USER_RUNTIME_DIR = '/run/user/0';
/**
 * The user manager's XDG_CONFIG_HOME: on a tmpfs inside, so the host's ~/.config never
 * reaches the sandbox. Its systemd/user is on the user manager's unit path (after our
 * units), where `install --user` writes.
 */
export const USER_CONFIG_HOME = '/run/hb-user-config';
export const SYSTEMD_BINARY = '/usr/lib/systemd/systemd';

const CGROUP2_SUPER_MAGIC = 0x63677270;
const EXIT_REFUSED = 3;
const BOOT_TIMEOUT_MS = 30_000;
const EXEC_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;
const KILL_TIMEOUT_MS = 5_000;
const POLL_MS = 50;
const LOG_LIMIT = 64 * 1024;

export interface SandboxOptions {
  /** More system unit files: file name -> content (added to the fixture units). Not started at
   * boot unless named in bootUnits (or started by the test). */
  extraUnits?: Record<string, string>;
  /** Units the boot target also Wants= (e.g. some of extraUnits). */
  bootUnits?: string[];
  /** Default false (own net namespace). true: the sandbox's services share the host's network
   * namespace, so a service INSIDE can push to a VictoriaMetrics on host 127.0.0.1. */
  hostNetwork?: boolean;
  /** Default true: the hb-* fixture units. */
  withFixtures?: boolean;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  env?: Record<string, string>;
  timeoutMs?: number;
  input?: string | Buffer;
}

export interface Sandbox {
  /** Host pid of the sandbox's systemd (PID 1 inside). */
  readonly pid: number;
  /** The cgroup2 directory on the host that holds the sandbox's processes. */
  readonly cgroupPath: string;
  /** Run a command inside: mount, PID, UTS, IPC and cgroup namespaces, but the HOST network
   * namespace, so a CLI inside reaches a VictoriaMetrics on host 127.0.0.1. */
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  systemctl(args: string[], opts?: { user?: boolean }): Promise<ExecResult>;
  writeFile(pathInside: string, content: string | Buffer, mode?: number): Promise<void>;
  readFile(pathInside: string): Promise<string>;
  /** systemd --user as a transient service with delegation (no logind, no user@.service);
   * after it, systemctl({user:true}) works. Idempotent. */
  startUserManager(): Promise<void>;
  /** Bounded poll: resolves once check() is true, throws naming `what` after timeoutMs. */
  waitFor(check: () => Promise<boolean>, what: string, timeoutMs?: number): Promise<void>;
  /** `systemctl exit`, bounded wait, SIGKILL of its own pid only if needed; removes the cgroup and
   * the state directory. Idempotent. */
  stop(): Promise<void>;
  /** systemd's console output (and the launcher's), for failure messages. */
  log(): string;
}

let unavailable: string | null | undefined;

/** Why the sandbox cannot run here, or undefined when it can. */
export function sandboxUnavailable(): string | undefined {
  if (unavailable === undefined) unavailable = probe() ?? null;
  return unavailable ?? undefined;
}

function probe(): string | undefined {
  if (process.platform !== 'linux') return `the systemd sandbox needs Linux; this is ${process.platform}`;
  if (process.getuid?.() !== 0) return 'the systemd sandbox needs root (unshare, mount, pivot_root)';
  if (!existsSync(SYSTEMD_BINARY)) return `${SYSTEMD_BINARY} is missing`;
  const version = spawnSync(SYSTEMD_BINARY, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  const first = (version.stdout ?? '').split('\n')[0] ?? '';
  if (!/^systemd 252\b/.test(first)) return `the sandbox is built for systemd 252; ${SYSTEMD_BINARY} says ${JSON.stringify(first)}`;
  const tools = spawnSync(
    'sh',
    ['-c', 'for t in unshare nsenter script setpriv pivot_root mknod; do command -v $t >/dev/null || echo $t; done'],
    {
      encoding: 'utf8',
      timeout: 10_000,
    },
  );
  if (tools.stdout.trim()) return `missing tools: ${tools.stdout.trim().split('\n').join(', ')}`;
  try {
    if (statfsSync(CGROUP2_ROOT).type !== CGROUP2_SUPER_MAGIC)
      return `${CGROUP2_ROOT} is not a cgroup2 mount (the harness expects the hybrid layout)`;
  } catch {
    return `${CGROUP2_ROOT} is missing (the harness expects the hybrid cgroup layout)`;
  }
  const unshare = spawnSync('unshare', ['--pid', '--fork', '--mount', '--', 'true'], { timeout: 10_000 });
  if (unshare.status !== 0) return `unshare of PID+mount namespaces fails here: ${String(unshare.stderr).trim()}`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Process identity and cleanup

interface Owned {
  /** The launcher (`bash launch.sh`, exec'd into `script`) that we spawned. */
  readonly launcher: ChildProcess;
  systemdPid?: number;
  systemdStart?: string;
  readonly cgroupPath: string;
  readonly baseDir: string;
}

const live = new Set<Owned>();

/** Field 22 of /proc/PID/stat (start time in ticks): with the pid, a process's identity. */
export function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function isAlive(pid: number, start: string | undefined): boolean {
  const now = startTime(pid);
  if (now === undefined) return false;
  if (start !== undefined && now !== start) return false;
  // a zombie is dead for our purposes: it only waits for its parent to reap it
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function signalOwned(o: Owned, signal: NodeJS.Signals): void {
  if (o.systemdPid !== undefined && isAlive(o.systemdPid, o.systemdStart)) {
    try {
      process.kill(o.systemdPid, signal);
    } catch {
      // gone in between
    }
  }
}

function launcherExited(o: Owned): boolean {
  return o.launcher.exitCode !== null || o.launcher.signalCode !== null;
}

/** rmdir the cgroup subtree, deepest first. Returns what could not be removed. */
function removeCgroup(path: string): string[] {
  if (!existsSync(path)) return [];
  const left: string[] = [];
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isDirectory()) left.push(...removeCgroup(join(path, entry.name)));
  }
  try {
    rmdirSync(path);
  } catch (error) {
    left.push(`${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  return left;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** For process exit: SIGKILL what we started, bounded wait, remove cgroup and state. */
function cleanupSync(): void {
  for (const o of live) {
    signalOwned(o, 'SIGKILL');
    if (!launcherExited(o) && o.launcher.pid !== undefined) {
      try {
        process.kill(o.launcher.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  const deadline = Date.now() + 3_000;
  for (const o of live) {
    while (Date.now() < deadline && removeCgroup(o.cgroupPath).length > 0) sleepSync(POLL_MS);
    rmSync(o.baseDir, { recursive: true, force: true });
  }
  live.clear();
}

function installHooks(): void {
  atProcessEnd(cleanupSync);
}

// ---------------------------------------------------------------------------------------------
// Running commands

/** Spawns argv in its own process group (so a timeout kills nsenter AND its forked child),
 * bounded by timeoutMs. */
function run(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [command, ...args] = argv;
  if (command === undefined) throw new Error('run: empty argv');
  const timeoutMs = opts.timeoutMs ?? EXEC_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', ...opts.env },
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    if (opts.input !== undefined) {
      child.stdin?.on('error', () => {});
      child.stdin?.end(opts.input);
    }
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) stderr += `\n[killed after ${timeoutMs} ms: ${argv.join(' ')}]`;
      const signum = signal ? (osConstants.signals[signal] ?? 0) : 0;
      resolve({ code: code ?? 128 + signum, stdout, stderr });
    });
  });
}

async function poll<T>(
  get: () => T | undefined | Promise<T | undefined>,
  what: string,
  timeoutMs: number,
  fail?: () => string | undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    const value = await get();
    if (value !== undefined) return value;
    const failure = fail?.();
    if (failure !== undefined) throw new Error(failure);
    if (Date.now() > deadline || i > timeoutMs / POLL_MS + 1000) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

// ---------------------------------------------------------------------------------------------
// Staging the units

function targetUnit(wants: readonly string[]): string {
  return [
    '# Generated by sandbox.ts (no fixtures): the boot target.',
    '[Unit]',
    'Description=systemd-heartbeat test sandbox',
    'Requires=basic.target',
    'After=basic.target',
    'Wants=dbus.socket systemd-journald.service',
    ...(wants.length > 0 ? [`Wants=${wants.join(' ')}`] : []),
    'AllowIsolate=yes',
    '',
  ].join('\n');
}

function stageUnits(dir: string, userDir: string, opts: SandboxOptions): void {
  const fixtures = opts.withFixtures ?? true;
  if (fixtures) {
    cpSync(FIXTURE_UNITS_DIR, dir, { recursive: true, verbatimSymlinks: true });
    cpSync(FIXTURE_USER_UNITS_DIR, userDir, { recursive: true, verbatimSymlinks: true });
  } else {
    mkdirSync(dir, { recursive: true });
    mkdirSync(userDir, { recursive: true });
    writeFileSync(join(dir, SANDBOX_TARGET), targetUnit([]));
    writeFileSync(join(userDir, USER_TARGET), '[Unit]\nDescription=sandbox user session\nRequires=basic.target\nAfter=basic.target\n');
  }
  for (const [name, content] of Object.entries(opts.extraUnits ?? {})) {
    if (!/^[A-Za-z0-9:_.@\\-]+$/.test(name)) throw new Error(`extraUnits: ${JSON.stringify(name)} is not a unit file name`);
    writeFileSync(join(dir, name), content);
  }
  if (opts.bootUnits && opts.bootUnits.length > 0) {
    const dropIn = join(dir, `${SANDBOX_TARGET}.d`);
    mkdirSync(dropIn, { recursive: true });
    writeFileSync(join(dropIn, 'boot-units.conf'), `[Unit]\nWants=${opts.bootUnits.join(' ')}\n`);
  }
}

function launcherArgs(o: { baseDir: string; name: string; hostNetwork: boolean; fixtures: boolean }): string[] {
  return [
    '--state',
    join(o.baseDir, 'state'),
    '--name',
    o.name,
    '--units',
    join(o.baseDir, 'units'),
    '--user-units',
    join(o.baseDir, 'user-units'),
    '--target',
    SANDBOX_TARGET,
    ...(o.hostNetwork ? ['--host-network'] : []),
    ...(o.fixtures ? ['--stamp', `hb-stale.timer=${STALE_TIMER_AGE_SECONDS}`] : []),
  ];
}

let counter = 0;

/**
 * Removes what a test process killed by SIGKILL left behind: launch.sh's pdeathsig chain takes
 * its sandbox down with it, but not the (then empty) cgroup directories and the state directory.
 * Only for owners that are gone, and only rmdir: a cgroup that still holds a process stays.
 */
function sweepStale(): void {
  let entries: string[];
  try {
    entries = readdirSync(CGROUP2_ROOT);
  } catch {
    return;
  }
  for (const entry of entries) {
    const m = /^hb-sandbox-(\d+)-\d+-([A-Za-z0-9]+)$/.exec(entry);
    if (!m || existsSync(`/proc/${m[1]}`)) continue;
    if (removeCgroup(join(CGROUP2_ROOT, entry)).length === 0) {
      rmSync(join(tmpdir(), `hb-sandbox-${m[2]}`), { recursive: true, force: true });
    }
  }
}

function newBase(): { baseDir: string; name: string } {
  sweepStale();
  const baseDir = mkdtempSync(join(tmpdir(), 'hb-sandbox-'));
  mkdirSync(join(baseDir, 'state'));
  const name = `hb-sandbox-${process.pid}-${++counter}-${baseDir.slice(-6).replace(/[^A-Za-z0-9]/g, 'x')}`;
  return { baseDir, name };
}

/**
 * Runs the launcher with --dry-run: everything up to and including the isolation checks, then
 * exit instead of exec'ing systemd. With `skip`, one isolation step is left out (the launcher only
 * allows that in a dry run), so the checks must refuse with exit 3.
 */
export async function verifyIsolation(skip: readonly string[] = []): Promise<ExecResult> {
  const reason = sandboxUnavailable();
  if (reason) throw new Error(reason);
  const { baseDir, name } = newBase();
  try {
    stageUnits(join(baseDir, 'units'), join(baseDir, 'user-units'), {});
    return await run(
      [
        'bash',
        LAUNCHER,
        ...launcherArgs({ baseDir, name, hostNetwork: false, fixtures: true }),
        '--dry-run',
        ...skip.flatMap((s) => ['--skip', s]),
      ],
      { timeoutMs: BOOT_TIMEOUT_MS },
    );
  } finally {
    await poll(
      () => (removeCgroup(join(CGROUP2_ROOT, name)).length === 0 ? true : undefined),
      `removal of cgroup ${name}`,
      KILL_TIMEOUT_MS,
    );
    rmSync(baseDir, { recursive: true, force: true });
  }
}

export { EXIT_REFUSED };

// ---------------------------------------------------------------------------------------------

export async function bootSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const reason = sandboxUnavailable();
  if (reason) throw new Error(`cannot boot the systemd sandbox: ${reason}`);
  installHooks();
  const { baseDir, name } = newBase();
  const cgroupPath = join(CGROUP2_ROOT, name);
  const fixtures = opts.withFixtures ?? true;
  try {
    stageUnits(join(baseDir, 'units'), join(baseDir, 'user-units'), opts);
  } catch (error) {
    rmSync(baseDir, { recursive: true, force: true });
    throw error;
  }

  let output = '';
  const launcher = spawn('bash', [LAUNCHER, ...launcherArgs({ baseDir, name, hostNetwork: opts.hostNetwork ?? false, fixtures })], {
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
    // stdin stays open: `script` would forward an EOF to the console pty
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const owned: Owned = { launcher, cgroupPath, baseDir };
  live.add(owned);
  const append = (d: Buffer): void => {
    output += d.toString();
    if (output.length > LOG_LIMIT) output = output.slice(-LOG_LIMIT);
  };
  launcher.stdout.on('data', append);
  launcher.stderr.on('data', append);
  launcher.stdin.on('error', () => {});
  const exited = new Promise<void>((resolve) =>
    launcher.once('exit', () => {
      // the open stdin pipe would keep the test process alive after the sandbox is gone
      launcher.stdin.destroy();
      resolve();
    }),
  );

  const describeExit = (): string | undefined =>
    launcherExited(owned) ? `the sandbox launcher exited (${launcher.exitCode ?? launcher.signalCode}):\n${output.trim()}` : undefined;

  const exec = (argv: string[], o: ExecOptions = {}): Promise<ExecResult> => {
    const pid = owned.systemdPid;
    if (pid === undefined || !isAlive(pid, owned.systemdStart)) {
      return Promise.resolve({ code: 255, stdout: '', stderr: 'the sandbox is not running' });
    }
    return run(['nsenter', '-t', String(pid), '-m', '-p', '-u', '-i', '-C', '--', ...argv], o);
  };
  const systemctl = (args: string[], o: { user?: boolean } = {}): Promise<ExecResult> =>
    exec(['systemctl', o.user ? '--user' : '--system', '--no-pager', ...args], {
      env: { SYSTEMD_PAGER: '', SYSTEMD_COLORS: '0', ...(o.user ? { XDG_RUNTIME_DIR: USER_RUNTIME_DIR } : {}) },
    });
  const waitFor = async (check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> => {
    await poll(async () => ((await check()) ? true : undefined), what, timeoutMs);
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (owned.systemdPid !== undefined && isAlive(owned.systemdPid, owned.systemdStart)) {
        await exec(['systemctl', 'exit', '0'], { timeoutMs: STOP_TIMEOUT_MS });
      }
      if (!(await within(exited, STOP_TIMEOUT_MS))) {
        signalOwned(owned, 'SIGKILL'); // PID 1 of the namespace: the kernel kills the rest
        if (!(await within(exited, KILL_TIMEOUT_MS)) && launcher.pid !== undefined) {
          process.kill(launcher.pid, 'SIGKILL');
          await within(exited, KILL_TIMEOUT_MS);
        }
      }
      let left: string[] = [];
      await poll(
        () => {
          left = removeCgroup(cgroupPath);
          return left.length === 0 ? true : undefined;
        },
        `removal of cgroup ${cgroupPath}`,
        KILL_TIMEOUT_MS,
      ).catch((error: Error) => {
        throw new Error(`${error.message}: left ${left.join(', ')}`);
      });
      rmSync(baseDir, { recursive: true, force: true });
      live.delete(owned);
    })());

  try {
    // The pid file is written by the launcher's cgroup stage just before it execs unshare; the
    // systemd pid is unshare's only child, and it is systemd once the checks passed and it exec'd.
    const unsharePid = await poll(
      () => {
        try {
          return Number(readFileSync(join(baseDir, 'state', 'unshare.pid'), 'utf8').trim()) || undefined;
        } catch {
          return undefined;
        }
      },
      'the sandbox launcher to start unshare',
      BOOT_TIMEOUT_MS,
      describeExit,
    );
    const pid = await poll(
      () => {
        try {
          const child = Number(readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim().split(' ')[0]);
          if (!child) return undefined;
          const exe = spawnSync('readlink', [`/proc/${child}/exe`], { encoding: 'utf8' }).stdout.trim();
          return exe === SYSTEMD_BINARY ? child : undefined;
        } catch {
          return undefined;
        }
      },
      "systemd to be exec'd as PID 1 of the sandbox",
      BOOT_TIMEOUT_MS,
      describeExit,
    );
    owned.systemdPid = pid;
    owned.systemdStart = startTime(pid);
    // Before its bus socket exists systemctl fails to connect: retry until it answers.
    await poll(
      async () => {
        const r = await systemctl(['is-system-running', '--wait'], {});
        const state = r.stdout.trim();
        return state === 'running' || state === 'degraded' ? state : undefined;
      },
      'systemctl is-system-running --wait to say running or degraded',
      BOOT_TIMEOUT_MS,
      describeExit,
    );
    // Booted with its console as the log (the boot is in log()); from here on PID 1 logs to
    // the journal like on a real host, where the exporter reads its run-finished entries.
    const target = await systemctl(['log-target', 'journal'], {});
    if (target.code !== 0) throw new Error(`systemctl log-target journal failed: ${target.stderr.trim()}`);
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }

  let userManager: Promise<void> | undefined;
  const sandbox: Sandbox = {
    pid: owned.systemdPid,
    cgroupPath,
    exec,
    systemctl,
    waitFor,
    stop,
    log: () => output,
    async writeFile(pathInside, content, mode = 0o644) {
      const r = await exec(['sh', '-c', 'mkdir -p "$(dirname "$1")" && cat >"$1" && chmod "$2" "$1"', 'sh', pathInside, mode.toString(8)], {
        input: content,
      });
      if (r.code !== 0) throw new Error(`writeFile ${pathInside} in the sandbox failed (${r.code}): ${r.stderr.trim()}`);
    },
    async readFile(pathInside) {
      const r = await exec(['cat', '--', pathInside]);
      if (r.code !== 0) throw new Error(`readFile ${pathInside} in the sandbox failed (${r.code}): ${r.stderr.trim()}`);
      return r.stdout;
    },
    startUserManager: () =>
      (userManager ??= (async () => {
        const mk = await exec(['mkdir', '-p', '-m', '0700', USER_RUNTIME_DIR]);
        if (mk.code !== 0) throw new Error(`mkdir ${USER_RUNTIME_DIR}: ${mk.stderr.trim()}`);
        // user@.service needs logind and PAM; a transient unit with Delegate= is all systemd --user
        // needs to manage its own cgroup subtree. Only our user units are on its unit path.
        const r = await exec([
          'systemd-run',
          '--unit=hb-user-manager.service',
          '--property=Delegate=yes',
          '--property=Type=notify',
          `--setenv=XDG_RUNTIME_DIR=${USER_RUNTIME_DIR}`,
          '--setenv=HOME=/root',
          `--setenv=XDG_CONFIG_HOME=${USER_CONFIG_HOME}`,
          `--setenv=SYSTEMD_UNIT_PATH=/usr/lib/hb-sandbox/user:${USER_CONFIG_HOME}/systemd/user`,
          '--setenv=SYSTEMD_GENERATOR_PATH=',
          '--setenv=SYSTEMD_ENVIRONMENT_GENERATOR_PATH=',
          SYSTEMD_BINARY,
          '--user',
          `--unit=${USER_TARGET}`,
        ]);
        if (r.code !== 0) throw new Error(`starting the user manager failed (${r.code}): ${r.stderr.trim()}`);
        await waitFor(async () => {
          const s = (await systemctl(['is-system-running', '--wait'], { user: true })).stdout.trim();
          return s === 'running' || s === 'degraded';
        }, 'the user manager to be running');
      })()),
  };
  await exposeBundle(sandbox);
  return sandbox;
}

/** The sandbox mounts fresh tmpfs on these: a repository below them is not visible inside. */
const TMPFS_INSIDE = ['/tmp/', '/var/tmp/', '/run/'];

/**
 * Tests run the shipped bundle inside as `node REPO/dist/systemd-heartbeat.cjs`. When the
 * repository lives below a path the sandbox hides (a CI clone under /tmp), the built files
 * (the bundle, its code cache and source map) are copied in at the same path; elsewhere the
 * overlay of / already shows them.
 */
async function exposeBundle(sandbox: Sandbox): Promise<void> {
  const repo = fileURLToPath(new URL('../../', import.meta.url));
  if (!TMPFS_INSIDE.some((dir) => repo.startsWith(dir))) return;
  const dist = join(repo, 'dist');
  for (const name of readdirSync(dist)) await sandbox.writeFile(join(dist, name), readFileSync(join(dist, name)), 0o755);
}

/** true once `promise` settled, false after ms; the timer does not outlive the answer. */
function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
