/**
 * `install` / `uninstall`: the service + timer for the system manager (or, with --user, the
 * user manager), a copy of the running bundle at a stable path, daemon-reload and
 * `enable --now` on the timer. The units come from units.ts, the paths and systemctl calls from
 * layout.ts, every file and tool through effects.ts's InstallIO.
 */
import { parseFlags, scopeOf, type FlagSpec } from '../args.ts';
import { DEFAULT_PERIOD_SECONDS } from '../defaults.ts';
import { parseDuration } from '../duration.ts';
import type { CommandContext } from '../commands/context.ts';
import { EXIT, describeError, usageError } from '../errors.ts';
import { createSystemctl, type Scope } from '../systemd/systemctl.ts';
import type { RunSystemctl } from '../systemd/collect.ts';
import { posix } from 'node:path';
import {
  SERVICE,
  TIMER,
  BUNDLE_NAME,
  CODE_CACHE_NAME,
  MAKE_CODE_CACHE_NAME,
  SERVICE_USER,
  CREDSTORE_NAME,
  SYSUSERS_PATH,
  renderService,
  renderSysusers,
  renderTimer,
} from './units.ts';
import {
  INSTALL_ROOT_ENV,
  layoutFor,
  manualCommand,
  INSTALL_COMMANDS,
  UNINSTALL_COMMANDS,
  AFTER_UNINSTALL_COMMANDS,
  hiddenFromSystemService,
} from './layout.ts';
import { serviceConfigWarnings } from './check.ts';
import { type InstallIO, createFsIO } from './effects.ts';

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
/** `30s`, `2s`, `5min`, `1h30m`, bare seconds -> whole seconds, 1 s to 24 h. */
export function parseInterval(value: string, field = '--interval'): number {
  return parseDuration(value, { field, minMs: 1000, maxMs: 86_400_000, wholeSeconds: true }) / 1000;
}

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

/** Where the Debian package puts the bundle (scripts/package.ts): its units and user are dpkg's. */
export const PACKAGE_LIB_DIR = '/usr/lib/systemd-heartbeat';

/** install and uninstall are for a bundle of one's own: the package's timer is apt's to manage. */
function refusePackaged(entry: string | undefined, command: 'install' | 'uninstall'): void {
  if (entry?.startsWith(`${PACKAGE_LIB_DIR}/`)) {
    throw usageError(
      command === 'install'
        ? "this systemd-heartbeat is the Debian package's: its timer is already installed and enabled; configure /etc/default/systemd-heartbeat"
        : "this systemd-heartbeat is the Debian package's: remove it with apt remove (or apt purge, which also removes its state and user)",
    );
  }
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
  const systemctl = createSystemctl({ scope, timeoutMs: () => 25_000, env });
  const root = env[INSTALL_ROOT_ENV] ?? '';
  return createFsIO(root, root ? offlineSystemctl(root, systemctl) : systemctl, env);
}

/**
 * Below an install root the running manager is never asked: `enable`/`disable` become
 * `systemctl --root=ROOT enable|disable` (symlinks in the root, no --now), and the calls that
 * only talk to a manager (daemon-reload, stop, reset-failed) are left out.
 */
export function offlineSystemctl(root: string, systemctl: RunSystemctl): RunSystemctl {
  return async (args) => {
    const verb = args[0];
    if (verb !== 'enable' && verb !== 'disable') return '';
    return systemctl([`--root=${root}`, verb, ...args.slice(1).filter((a) => a !== '--now')]);
  };
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
  refusePackaged(rt.entry, 'install');
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
  for (const warning of serviceConfigWarnings({
    environmentFile: layout.environmentFile,
    environmentText: io.readFile(layout.environmentFile),
    configPath: configPath && io.exists(configPath) ? configPath : undefined,
    readFile: (path) => io.readFile(path),
    intervalSeconds: args.intervalSeconds,
    tokenPresent: io.exists(args.scope === 'system' ? `/etc/credstore/${CREDSTORE_NAME}` : (layout.userTokenPath ?? '')),
  })) {
    ctx.log.warning(warning);
  }
  if (configPath && !io.exists(configPath)) ctx.log.warning(`--config ${configPath} does not exist yet: each run will fail until it does`);
  if (configPath && args.scope === 'system' && ((io.mode(configPath) ?? 0o644) & 0o004) === 0) {
    ctx.log.warning(
      `--config ${configPath} is not world-readable: the service user cannot read it (chmod o+r; keep secrets out of it then: a token belongs in /etc/credstore/${CREDSTORE_NAME})`,
    );
  }
  if (configPath && ((io.mode(configPath) ?? 0) & 0o002) !== 0) {
    ctx.log.warning(`--config ${configPath} is world-writable: anyone on this host can change where the token is sent (chmod o-w)`);
  }

  io.mkdirp(layout.libDir);
  // The cache first: until the bundle is replaced, the old one leaves the new cache unread (its build id differs).
  const cache = `${posix.dirname(entry)}/${CODE_CACHE_NAME}`;
  const maker = `${posix.dirname(entry)}/${MAKE_CODE_CACHE_NAME}`;
  const withCache = io.isSourceFile(cache);
  if (withCache) io.copyFile(cache, layout.codeCachePath);
  else io.removeFile(layout.codeCachePath);
  if (withCache) io.removeFile(layout.makerPath);
  io.copyFile(entry, layout.bundlePath);
  // No cache came with the bundle (the npm tarball): made here, for the node ExecStart= runs.
  if (!withCache && io.isSourceFile(maker)) {
    io.copyFile(maker, layout.makerPath);
    await io.makeCodeCache(rt.execPath, layout.makerPath, layout.libDir).catch((error: unknown) => {
      ctx.log.warning(`no code cache made (each run compiles the bundle: slower, same result): ${describeError(error)}`);
    });
  }
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
  } else if (ctx.env[INSTALL_ROOT_ENV]) {
    ctx.stdout(
      `enabled ${TIMER} in ${ctx.env[INSTALL_ROOT_ENV]} (the running manager was not told; a system booted from it starts the timer)\n`,
    );
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

export async function uninstallCommand(
  argv: readonly string[],
  ctx: CommandContext,
  rt: Partial<Pick<InstallRuntime, 'io' | 'entry'>> = {},
): Promise<number> {
  const args = parseInstallArgs(argv, 'uninstall');
  if (args.help) {
    ctx.stdout(`${UNINSTALL_USAGE}\n`);
    return EXIT.ok;
  }
  refusePackaged(rt.entry, 'uninstall');
  const layout = layoutFor(args.scope, ctx.env);
  const files = [
    `${layout.unitDir}/${TIMER}`,
    `${layout.unitDir}/${SERVICE}`,
    layout.wantsLink,
    layout.bundlePath,
    layout.codeCachePath,
    layout.makerPath,
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
