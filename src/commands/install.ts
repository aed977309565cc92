/**
 * `install` / `uninstall`: the service + timer for the system manager (or, with --user, the
 * user manager), a copy of the running bundle at a stable path, daemon-reload and
 * `enable --now` on the timer. Pure middle: rendering the units and planning the paths and
 * systemctl calls; thin edge: the InstallIO functions (files, systemctl), injected like
 * collect.ts's RunSystemctl so tests run both commands into a temporary root.
 */
import { execFile } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  rmdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { posix } from 'node:path';
import { parseFlags, scopeOf, type FlagSpec } from '../args.ts';
import { defaultStateDir } from '../config.ts';
import { DEFAULT_PERIOD_SECONDS } from '../defaults.ts';
import { parseDuration } from '../duration.ts';
import type { CommandContext } from './context.ts';
import { EXIT, HeartbeatError, describeError, usageError } from '../errors.ts';
import { createSystemctl } from '../systemd/systemctl.ts';
import type { RunSystemctl } from '../systemd/collect.ts';
import type { Scope } from '../systemd/systemctl.ts';

export const SERVICE = 'systemd-heartbeat.service';
export const TIMER = 'systemd-heartbeat.timer';
/** The bundle: what the unit runs. */
export const BUNDLE_NAME = 'systemd-heartbeat.cjs';
/**
 * V8's code cache for the bundle, made by the same build (scripts/build.mjs) and read from beside
 * it; absent when the build's node rejected its own cache, and then the bundle compiles as usual.
 */
export const CODE_CACHE_NAME = 'systemd-heartbeat.code-cache';
/**
 * The system unit's token, looked up by systemd 252 in /etc/credstore/, /run/credstore/,
 * /usr/lib/credstore/ (and the manager's own received credentials). A relative
 * LoadCredential= source that is missing is skipped; an absolute one fails the unit
 * (execute.c load_credential(): missing_ok is false for absolute paths), and
 * `SetCredential=otlp-token:` (an empty fallback) is refused as invalid syntax by 252.
 */
export const CREDSTORE_NAME = 'systemd-heartbeat.otlp-token';
/**
 * The system service's user. DynamicUser=yes alone breaks the one thing the service does:
 * dbus-daemon drops a dynamic user's connection at Hello ("Transport endpoint is not
 * connected", systemd#22737, since 250.4; measured on Debian 12's 252 + dbus 1.14), while
 * dbus-broker accepts it. With a static user of this name, DynamicUser=yes uses it (keeping
 * its sandboxing) and dbus-daemon can resolve it; install creates it with sysusers.d.
 */
export const SERVICE_USER = 'systemd-heartbeat';
export const SYSUSERS_PATH = '/etc/sysusers.d/systemd-heartbeat.conf';
/** A test hook like DESTDIR: every path install/uninstall touches is below it. */
export const INSTALL_ROOT_ENV = 'SYSTEMD_HEARTBEAT_INSTALL_ROOT';

/** Start-to-exit bound of one run; the exporter's own --timeout (default 5 s) stays below it. */
const TIMEOUT_START_SEC = 15;

export const INSTALL_USAGE = `Usage: systemd-heartbeat install [--user] [--interval 30s] [--config PATH] [--dry-run]

Copies this bundle to a stable path, writes ${SERVICE} and ${TIMER} (system:
/etc/systemd/system, --user: ~/.config/systemd/user), runs daemon-reload and
enable --now on the timer. A system install also creates the ${SERVICE_USER} system user
(${SYSUSERS_PATH}). Without a working systemctl the files are still written and
the commands to run are printed.

  --user           install for the user manager (systemctl --user) instead of the system
  --system         install for the system manager (default)
  --interval DUR   how often the timer fires: 30s (default), 2s, 5min, 1h
  --config PATH    the config file the service reads (absolute after resolving)
  --dry-run        print the files and commands, write and run nothing
  -h, --help       this text`;

export const UNINSTALL_USAGE = `Usage: systemd-heartbeat uninstall [--user] [--dry-run]

Disables and stops the timer, removes the unit files, the installed bundle, the
exporter's state directory and (system) its user, runs daemon-reload. Your config file, environment file and
token are left in place (and listed).

  --user           the user manager's install
  --system         the system manager's install (default)
  --dry-run        print what would be removed and run, change nothing
  -h, --help       this text`;

// ---------------------------------------------------------------- pure: rendering

/**
 * One ExecStart= word. systemd splits on whitespace, honours quotes and C escapes, expands
 * `%` specifiers and `$VAR`: a path with any of these is quoted and `%`/`$` are doubled.
 */
export function quoteExecArg(arg: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  if (arg === '' || /[\x00-\x1f\x7f]/.test(arg)) {
    throw usageError(`${JSON.stringify(arg)} cannot be written into a unit file (empty or control characters)`);
  }
  const specifiersEscaped = arg.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (/^[A-Za-z0-9_/.+,:=@%$-]+$/.test(arg)) return specifiersEscaped;
  return `"${specifiersEscaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** `30s`, `2s`, `5min`, `1h30m`, bare seconds -> whole seconds, 1 s to 24 h. */
export function parseInterval(value: string, field = '--interval'): number {
  return parseDuration(value, { field, minMs: 1000, maxMs: 86_400_000, wholeSeconds: true }) / 1000;
}

export interface ServiceOptions {
  readonly scope: Scope;
  /** Absolute path of the node binary (process.execPath when installing). */
  readonly nodePath: string;
  /** Absolute path of the installed bundle. */
  readonly bundlePath: string;
  /** Passed as --config when given. */
  readonly configPath?: string | undefined;
  /** User units only: a token file to load as the otlp-token credential (rendered only when it exists). */
  readonly userTokenPath?: string | undefined;
}

function execStart(o: ServiceOptions): string {
  // No V8 flags on this line: each one costs ~8 ms per run (it disables node's code cache).
  const words = [o.nodePath, o.bundlePath, ...(o.configPath ? ['--config', o.configPath] : [])];
  return `ExecStart=${words.map(quoteExecArg).join(' ')}`;
}

/** What both services start with. */
function serviceHead(o: ServiceOptions): string[] {
  return [execStart(o), `TimeoutStartSec=${TIMEOUT_START_SEC}s`, 'SyslogIdentifier=systemd-heartbeat'];
}

/** The seccomp-based settings both services end with: the only ones a user manager applies. */
const SECCOMP_SETTINGS = [
  'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6',
  'RestrictNamespaces=yes',
  'RestrictRealtime=yes',
  'RestrictSUIDSGID=yes',
  'LockPersonality=yes',
  'UMask=0077',
  'SystemCallArchitectures=native',
  'SystemCallFilter=@system-service',
  'SystemCallFilter=~@privileged @resources',
  'SystemCallErrorNumber=EPERM',
];

/**
 * The system service: DynamicUser=yes sandboxing under the static SERVICE_USER, which can read
 * unit state over D-Bus (no privilege needed) and do nothing else. `systemd-analyze security --offline=true` rates it 1.1 on systemd 252
 * (test/units.test.ts fails above 1.5); what is left is the network it needs (PrivateNetwork,
 * AF_INET, no IP allow list since the endpoint is configurable), MemoryDenyWriteExecute (V8's
 * JIT needs executable pages it wrote), and the rtc device ProtectClock= itself allows.
 */
function systemServiceBody(o: ServiceOptions): string[] {
  return [
    ...serviceHead(o),
    '# KEY=value lines: SYSTEMD_HEARTBEAT_UNITS, OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, ... (README)',
    'EnvironmentFile=-/etc/default/systemd-heartbeat',
    `# Bearer token for the push, if /etc/credstore/${CREDSTORE_NAME} exists (a missing one is skipped)`,
    `LoadCredential=otlp-token:${CREDSTORE_NAME}`,
    'StateDirectory=systemd-heartbeat',
    'DynamicUser=yes',
    `# The static user from ${SYSUSERS_PATH} when it exists (dbus-daemon cannot resolve dynamic ones)`,
    `User=${SERVICE_USER}`,
    "# Reads PID 1's run-finished journal entries for the timers' jobs; no other privilege",
    'SupplementaryGroups=systemd-journal',
    'CapabilityBoundingSet=',
    'AmbientCapabilities=',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'ProtectHome=yes',
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    'PrivateUsers=yes',
    'PrivateMounts=yes',
    'ProtectClock=yes',
    'ProtectHostname=yes',
    'ProtectKernelLogs=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelTunables=yes',
    'ProtectControlGroups=yes',
    'ProtectProc=invisible',
    'ProcSubset=pid',
    'RemoveIPC=yes',
    ...SECCOMP_SETTINGS,
  ];
}

/**
 * The user service: the user manager cannot switch users, and mount-namespace sandboxing
 * (ProtectSystem=, PrivateTmp=, ...) needs unprivileged user namespaces there, so only the
 * seccomp-based settings apply. The host label gets `/user-<name>` so a system and a user
 * exporter on one host push distinct series (EnvironmentFile= overrides Environment=).
 */
function userServiceBody(o: ServiceOptions): string[] {
  return [
    ...serviceHead(o),
    'Environment=SYSTEMD_HEARTBEAT_SCOPE=user',
    'Environment=SYSTEMD_HEARTBEAT_HOST=%H/user-%u',
    'EnvironmentFile=-%E/systemd-heartbeat/environment',
    ...(o.userTokenPath ? [`LoadCredential=otlp-token:${o.userTokenPath}`] : []),
    'NoNewPrivileges=yes',
    ...SECCOMP_SETTINGS,
  ];
}

export function renderService(o: ServiceOptions): string {
  const body = o.scope === 'system' ? systemServiceBody(o) : userServiceBody(o);
  return [
    '# Written by `systemd-heartbeat install`; `systemd-heartbeat uninstall` removes it.',
    '# Local changes: `systemctl edit` (a drop-in survives reinstalling).',
    '[Unit]',
    'Description=systemd-heartbeat: push unit health to VictoriaMetrics once',
    '',
    '[Service]',
    'Type=oneshot',
    ...body,
    '',
  ].join('\n');
}

/** sysusers.d(5): a locked system user and its group, no home, no shell. */
export function renderSysusers(): string {
  return [
    '# Written by `systemd-heartbeat install`; `systemd-heartbeat uninstall` removes it and the user.',
    `u ${SERVICE_USER} - "systemd-heartbeat exporter" / /usr/sbin/nologin`,
    '',
  ].join('\n');
}

export function renderTimer(o: { readonly intervalSeconds: number }): string {
  const every = `${o.intervalSeconds}s`;
  return [
    '# Written by `systemd-heartbeat install`; `systemd-heartbeat uninstall` removes it.',
    '[Unit]',
    `Description=systemd-heartbeat every ${every}`,
    '',
    '[Timer]',
    // Measured from the service's last start, so a slow run delays the next instead of
    // queueing behind it; a monotonic timer already past its OnBootSec= fires when started,
    // so `enable --now` runs the service at once. Persistent= only applies to OnCalendar=.
    `OnBootSec=${every}`,
    `OnUnitActiveSec=${every}`,
    // The default AccuracySec=1min would smear a 30 s period.
    'AccuracySec=1s',
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------- pure: paths and plans

export interface Layout {
  readonly scope: Scope;
  /** Where systemd reads the units (unprefixed, as the manager sees it). */
  readonly unitDir: string;
  readonly libDir: string;
  /** What ExecStart= runs. */
  readonly bundlePath: string;
  /** The bundle's code cache, beside it. */
  readonly codeCachePath: string;
  /** The symlink `enable` makes; uninstall removes it even when systemctl cannot. */
  readonly wantsLink: string;
  /** Created by systemd (StateDirectory=) or the exporter; removed by uninstall. */
  readonly stateDirs: readonly string[];
  /** The operator's files: never written or removed, listed by uninstall. */
  readonly operatorFiles: readonly string[];
  /** User units: the token file LoadCredential= reads when it exists. */
  readonly userTokenPath: string | undefined;
  /** System units: the sysusers.d file for the service user. */
  readonly sysusersPath: string | undefined;
}

/** The paths both scopes derive alike from where the units and the bundle go. */
function placed(unitDir: string, libDir: string): Pick<Layout, 'unitDir' | 'libDir' | 'bundlePath' | 'codeCachePath' | 'wantsLink'> {
  return {
    unitDir,
    libDir,
    bundlePath: `${libDir}/${BUNDLE_NAME}`,
    codeCachePath: `${libDir}/${CODE_CACHE_NAME}`,
    wantsLink: `${unitDir}/timers.target.wants/${TIMER}`,
  };
}

export function layoutFor(scope: Scope, env: Readonly<Record<string, string | undefined>>): Layout {
  if (scope === 'system') {
    const unitDir = '/etc/systemd/system';
    return {
      scope,
      ...placed(unitDir, '/usr/local/lib/systemd-heartbeat'),
      // DynamicUser=yes keeps StateDirectory= under /var/lib/private with a symlink beside it.
      stateDirs: ['/var/lib/systemd-heartbeat', '/var/lib/private/systemd-heartbeat'],
      operatorFiles: [
        '/etc/default/systemd-heartbeat',
        '/etc/systemd-heartbeat/config.json',
        `/etc/credstore/${CREDSTORE_NAME}`,
        `${unitDir}/${SERVICE}.d`,
      ],
      userTokenPath: undefined,
      sysusersPath: SYSUSERS_PATH,
    };
  }
  const home = env.HOME;
  if (!home?.startsWith('/')) throw usageError('--user: HOME must be set to an absolute path');
  const configHome = env.XDG_CONFIG_HOME?.startsWith('/') ? env.XDG_CONFIG_HOME : `${home}/.config`;
  const unitDir = `${configHome}/systemd/user`;
  return {
    scope,
    ...placed(unitDir, `${home}/.local/lib/systemd-heartbeat`),
    // No StateDirectory= for the user unit: systemd 252 puts it under $XDG_CONFIG_HOME.
    stateDirs: [defaultStateDir('user', env)],
    operatorFiles: [`${configHome}/systemd-heartbeat/environment`, `${configHome}/systemd-heartbeat/otlp-token`, `${unitDir}/${SERVICE}.d`],
    userTokenPath: `${configHome}/systemd-heartbeat/otlp-token`,
    sysusersPath: undefined,
  };
}

/** `systemctl [--user] ARGS` as an operator would type it. */
export function manualCommand(scope: Scope, args: readonly string[]): string {
  return ['systemctl', ...(scope === 'user' ? ['--user'] : []), ...args].join(' ');
}

export const INSTALL_COMMANDS: readonly (readonly string[])[] = [['daemon-reload'], ['enable', '--now', TIMER]];
export const UNINSTALL_COMMANDS: readonly (readonly string[])[] = [
  ['disable', '--now', TIMER],
  ['stop', SERVICE],
];
export const AFTER_UNINSTALL_COMMANDS: readonly (readonly string[])[] = [['daemon-reload'], ['reset-failed', SERVICE, TIMER]];

/** Paths a system service cannot see: ProtectHome=yes hides these, PrivateTmp=yes replaces these. */
const HIDDEN_FROM_SYSTEM_SERVICE = ['/home', '/root', '/run/user', '/tmp', '/var/tmp'];

export function hiddenFromSystemService(path: string): string | undefined {
  return HIDDEN_FROM_SYSTEM_SERVICE.find((p) => path === p || path.startsWith(`${p}/`));
}

// ---------------------------------------------------------------- the edge

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
  readonly systemctl: RunSystemctl;
  /** `systemd-sysusers CONF` (below the root): creates the users a sysusers.d file declares. */
  readonly createUsers: (confPath: string) => Promise<void>;
  /** `userdel NAME` and its group (below the root). */
  readonly deleteUser: (name: string) => Promise<void>;
}

/** Runs a tool from PATH, bounded; rejects with its first stderr line. */
function runTool(binary: string, args: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      binary,
      args,
      { env: { PATH: env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' }, timeout: 25_000, killSignal: 'SIGKILL', encoding: 'utf8' },
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
    writeFile: (p, content) =>
      wrap('cannot write', p, () => {
        writeFileSync(at(p), content, { mode: 0o644 });
        chmodSync(at(p), 0o644);
      }),
    copyFile: (from, to) =>
      wrap('cannot copy to', to, () => {
        if (sameFile(from, at(to))) return; // re-running install from the installed copy
        copyFileSync(from, at(to));
        chmodSync(at(to), 0o644);
      }),
    mkdirp: (p) => wrap('cannot create', p, () => void mkdirSync(at(p), { recursive: true, mode: 0o755 })),
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
  };
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

// ---------------------------------------------------------------- commands

interface InstallArgs {
  scope: Scope;
  intervalSeconds: number;
  configPath: string | undefined;
  dryRun: boolean;
  help: boolean;
}

const SWITCHES: Readonly<Record<string, FlagSpec>> = {
  '--user': { kind: 'switch' },
  '--system': { kind: 'switch' },
  '--dry-run': { kind: 'switch' },
  '--help': { kind: 'switch', aliases: ['-h'] },
};
const INSTALL_FLAGS: Readonly<Record<string, FlagSpec>> = { ...SWITCHES, '--interval': { kind: 'value' }, '--config': { kind: 'value' } };

export function parseInstallArgs(argv: readonly string[], command: 'install' | 'uninstall'): InstallArgs {
  const flags = parseFlags(argv, command === 'install' ? INSTALL_FLAGS : SWITCHES, { command, help: `${command} --help` });
  const interval = flags.values.get('--interval');
  const configPath = flags.values.get('--config');
  if (interval === '' || configPath === '') throw usageError(`${interval === '' ? '--interval' : '--config'} needs a value`);
  return {
    scope: scopeOf(flags, command) ?? 'system',
    intervalSeconds: interval === undefined ? DEFAULT_PERIOD_SECONDS : parseInterval(interval),
    configPath,
    dryRun: flags.switches.includes('--dry-run'),
    help: flags.switches.includes('--help'),
  };
}

export interface InstallRuntime {
  /** The running entry point (process.argv[1]): the bundle to copy. */
  readonly entry: string | undefined;
  /** The node binary (process.execPath) for ExecStart=. */
  readonly execPath: string;
  readonly cwd: string;
  /** Replaces the real files + systemctl edge (tests). */
  readonly io?: InstallIO;
}

function defaultIO(scope: Scope, env: NodeJS.ProcessEnv): InstallIO {
  // enable --now waits for the start job of the timer only; 25 s is sd-bus' own default.
  return createFsIO(env[INSTALL_ROOT_ENV] ?? '', createSystemctl({ scope, timeoutMs: () => 25_000, env }), env);
}

/** Runs each command in order, stopping at the first failure; returns the failure, if any. */
async function runAll(io: InstallIO, commands: readonly (readonly string[])[]): Promise<string | undefined> {
  for (const args of commands) {
    try {
      await io.systemctl(args);
    } catch (error) {
      return describeError(error);
    }
  }
  return undefined;
}

export async function installCommand(argv: readonly string[], ctx: CommandContext, rt: InstallRuntime): Promise<number> {
  const args = parseInstallArgs(argv, 'install');
  if (args.help) {
    ctx.stdout(`${INSTALL_USAGE}\n`);
    return EXIT.ok;
  }
  const layout = layoutFor(args.scope, ctx.env);
  const configPath = args.configPath === undefined ? undefined : posix.resolve(rt.cwd, args.configPath);
  if (args.scope === 'system') {
    for (const [what, path] of [
      ['--config', configPath],
      ['the node binary', rt.execPath],
    ] as const) {
      const hidden = path && hiddenFromSystemService(path);
      if (hidden) {
        throw usageError(
          `${what} ${path} is under ${hidden}, which the system service cannot see (ProtectHome=yes, PrivateTmp=yes): ` +
            (what === '--config' ? 'put it under /etc/systemd-heartbeat/' : 'install node system-wide (e.g. /usr/bin/node) or use --user'),
        );
      }
    }
  }
  const io = rt.io ?? defaultIO(args.scope, ctx.env);
  const userTokenPath = layout.userTokenPath && io.exists(layout.userTokenPath) ? layout.userTokenPath : undefined;
  const files = [
    {
      path: `${layout.unitDir}/${SERVICE}`,
      content: renderService({ scope: args.scope, nodePath: rt.execPath, bundlePath: layout.bundlePath, configPath, userTokenPath }),
    },
    { path: `${layout.unitDir}/${TIMER}`, content: renderTimer({ intervalSeconds: args.intervalSeconds }) },
  ];
  if (layout.sysusersPath) files.unshift({ path: layout.sysusersPath, content: renderSysusers() });
  const commands = [
    ...(layout.sysusersPath ? [`systemd-sysusers ${layout.sysusersPath}`] : []),
    ...INSTALL_COMMANDS.map((c) => manualCommand(args.scope, c)),
  ];

  if (args.dryRun) {
    ctx.stdout(`# would copy ${rt.entry ?? '(the running bundle)'} and its code cache to ${layout.libDir}/\n`);
    for (const f of files) ctx.stdout(`# ${f.path}\n${f.content}\n`);
    ctx.stdout(`# then run:\n${commands.join('\n')}\n`);
    return EXIT.ok;
  }

  const entry = rt.entry;
  if (!entry?.endsWith('.cjs') || !posix.isAbsolute(entry)) {
    throw usageError(`install copies the built bundle: run it as \`node dist/${BUNDLE_NAME} install\` (npm run build makes it)`);
  }
  if (configPath && !io.exists(configPath)) ctx.log.warning(`--config ${configPath} does not exist yet: each run will fail until it does`);
  if (configPath && args.scope === 'system' && ((io.mode(configPath) ?? 0o644) & 0o004) === 0) {
    ctx.log.warning(`--config ${configPath} is not world-readable: the service's dynamic user cannot read it (chmod o+r)`);
  }

  io.mkdirp(layout.libDir);
  // The cache first: until the bundle is replaced, the old one leaves the new cache unread (its build id differs).
  const cache = `${posix.dirname(entry)}/${CODE_CACHE_NAME}`;
  if (io.isSourceFile(cache)) io.copyFile(cache, layout.codeCachePath);
  else io.removeFile(layout.codeCachePath);
  io.copyFile(entry, layout.bundlePath);
  for (const f of files) {
    io.mkdirp(posix.dirname(f.path));
    io.writeFile(f.path, f.content);
  }
  ctx.stdout(`installed ${layout.bundlePath}\nwrote ${files.map((f) => f.path).join('\nwrote ')}\n`);

  let failure: string | undefined;
  if (layout.sysusersPath) {
    try {
      await io.createUsers(layout.sysusersPath);
    } catch (error) {
      failure = describeError(error);
    }
  }
  failure ??= await runAll(io, INSTALL_COMMANDS);
  if (failure) {
    ctx.log.error(`failed: ${failure}`);
    ctx.stdout(`The unit files are written but not active. Run:\n${commands.map((c) => `  ${c}`).join('\n')}\n`);
  } else {
    ctx.stdout(`enabled and started ${TIMER} (every ${args.intervalSeconds}s): ${manualCommand(args.scope, ['list-timers', TIMER])}\n`);
  }
  if (args.scope === 'user') {
    ctx.stdout(
      `On a headless host the user manager only runs while you are logged in; keep it running with:\n  loginctl enable-linger ${ctx.env.USER ?? ctx.env.LOGNAME ?? '$USER'}\n`,
    );
  }
  return failure ? EXIT.failure : EXIT.ok;
}

export async function uninstallCommand(argv: readonly string[], ctx: CommandContext, rt: Pick<InstallRuntime, 'io'> = {}): Promise<number> {
  const args = parseInstallArgs(argv, 'uninstall');
  if (args.help) {
    ctx.stdout(`${UNINSTALL_USAGE}\n`);
    return EXIT.ok;
  }
  const layout = layoutFor(args.scope, ctx.env);
  const files = [
    `${layout.unitDir}/${TIMER}`,
    `${layout.unitDir}/${SERVICE}`,
    layout.wantsLink,
    layout.bundlePath,
    layout.codeCachePath,
    ...(layout.sysusersPath ? [layout.sysusersPath] : []),
  ];
  const before = UNINSTALL_COMMANDS.map((c) => manualCommand(args.scope, c));
  const after = [
    ...AFTER_UNINSTALL_COMMANDS.map((c) => manualCommand(args.scope, c)),
    ...(layout.sysusersPath ? [`userdel ${SERVICE_USER}`] : []),
  ];
  if (args.dryRun) {
    ctx.stdout(
      `# would run:\n${before.join('\n')}\n# would remove:\n${[...files, layout.libDir, ...layout.stateDirs].join('\n')}\n# then run:\n${after.join('\n')}\n`,
    );
    return EXIT.ok;
  }
  const io = rt.io ?? defaultIO(args.scope, ctx.env);

  // Stop first so no run starts while the files go; a timer that is not loaded is no failure.
  const problems: string[] = [];
  for (const c of UNINSTALL_COMMANDS) {
    const failure = await runAll(io, [c]);
    if (failure && !/not loaded|does not exist/i.test(failure)) problems.push(failure);
  }
  const removed: string[] = [];
  // The user goes only with the sysusers.d file install wrote: a user someone else made stays.
  const ownUser = layout.sysusersPath !== undefined && io.exists(layout.sysusersPath);
  for (const f of files) if (io.removeFile(f)) removed.push(f);
  if (io.removeDirIfEmpty(`${layout.unitDir}/timers.target.wants`)) removed.push(`${layout.unitDir}/timers.target.wants`);
  if (io.removeDirIfEmpty(layout.libDir)) removed.push(layout.libDir);
  for (const d of layout.stateDirs) if (io.removeTree(d)) removed.push(d);
  const failure = await runAll(io, AFTER_UNINSTALL_COMMANDS.slice(0, 1));
  if (failure) problems.push(failure);
  else await runAll(io, AFTER_UNINSTALL_COMMANDS.slice(1)); // nothing to reset is fine
  if (ownUser) {
    try {
      await io.deleteUser(SERVICE_USER);
      removed.push(`user ${SERVICE_USER}`);
    } catch (error) {
      problems.push(describeError(error));
    }
  }

  ctx.stdout(removed.length > 0 ? `removed ${removed.join('\nremoved ')}\n` : 'nothing was installed\n');
  const kept = layout.operatorFiles.filter((f) => io.exists(f));
  if (kept.length > 0) ctx.stdout(`left in place (yours): ${kept.join(', ')}\n`);
  if (problems.length > 0) {
    for (const p of problems) ctx.log.error(`failed: ${p}`);
    ctx.stdout(`The files are removed; to finish, run:\n${[...before, ...after].map((c) => `  ${c}`).join('\n')}\n`);
    return EXIT.failure;
  }
  return EXIT.ok;
}
