/**
 * Pure: the units install writes (service, timer, sysusers.d), rendered from their options, and
 * the names they go by.
 */
import { usageError } from '../errors.ts';
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
 * Beside the bundle: `node make-code-cache.cjs DIR` makes DIR's code cache for the node that runs
 * it (scripts/make-code-cache.mjs). install runs it when no cache came with the bundle (the npm
 * tarball ships none: a cache is only read by the node that made it).
 */
export const MAKE_CODE_CACHE_NAME = 'make-code-cache.cjs';
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
/** Where the Debian package puts the sysusers.d entry (scripts/package.ts). */
export const PACKAGE_SYSUSERS_PATH = '/usr/lib/sysusers.d/systemd-heartbeat.conf';

/**
 * Who writes the files, for their first comment line: `install` (which `uninstall` undoes) or
 * the Debian package (scripts/package.ts; dpkg removes them).
 */
export type Origin = 'install' | 'package';
const WRITTEN_BY: Readonly<Record<Origin, string>> = {
  install: '# Written by `systemd-heartbeat install`; `systemd-heartbeat uninstall` removes it.',
  package: '# Shipped by the systemd-heartbeat package; dpkg removes it with the package.',
};

/** Start-to-exit bound of one run; the exporter's own --timeout (default 5 s) stays below it. */
const TIMEOUT_START_SEC = 15;
/** The service's cgroup bounds (serviceHead says why these). */
export const MEMORY_MAX = '256M';
export const TASKS_MAX = 64;

/**
 * A path in a unit setting other than ExecStart= (LoadCredential=): `%` specifiers doubled, and
 * control characters refused (a newline in $XDG_CONFIG_HOME would add a line to the unit).
 */
export function unitSettingPath(path: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  if (path === '' || /[\x00-\x1f\x7f]/.test(path)) {
    throw usageError(`${JSON.stringify(path)} cannot be written into a unit file (empty or control characters)`);
  }
  return path.replace(/%/g, '%%');
}
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
  /** Default 'install'. */
  readonly origin?: Origin;
}

function execStart(o: ServiceOptions): string {
  // No V8 flags on this line: each one costs ~8 ms per run (it disables node's code cache).
  const words = [o.nodePath, o.bundlePath, ...(o.configPath ? ['--config', o.configPath] : [])];
  return `ExecStart=${words.map(quoteExecArg).join(' ')}`;
}

/** What both services start with. */
function serviceHead(o: ServiceOptions): string[] {
  return [
    execStart(o),
    `TimeoutStartSec=${TIMEOUT_START_SEC}s`,
    'SyslogIdentifier=systemd-heartbeat',
    // Bounds on a run gone wrong. A run at 1000 units peaks at ~83 MB RSS (README Performance,
    // npm run bench) plus systemctl's and journalctl's own while they run; a full spool replay
    // is bounded by the spool's limits. Node runs ~11 threads; the children one each.
    `MemoryMax=${MEMORY_MAX}`,
    `TasksMax=${TASKS_MAX}`,
  ];
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
    `# The static user from ${o.origin === 'package' ? PACKAGE_SYSUSERS_PATH : SYSUSERS_PATH} when it exists (dbus-daemon cannot resolve dynamic ones)`,
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
    ...(o.userTokenPath ? [`LoadCredential=otlp-token:${unitSettingPath(o.userTokenPath)}`] : []),
    'NoNewPrivileges=yes',
    ...SECCOMP_SETTINGS,
  ];
}

export function renderService(o: ServiceOptions): string {
  const body = o.scope === 'system' ? systemServiceBody(o) : userServiceBody(o);
  return [
    WRITTEN_BY[o.origin ?? 'install'],
    '# Local changes: `systemctl edit` (a drop-in survives reinstalling).',
    '[Unit]',
    'Description=systemd-heartbeat: push unit health to VictoriaMetrics once',
    ...(o.origin === 'package' ? ['Documentation=man:systemd-heartbeat(1)'] : []),
    '',
    '[Service]',
    'Type=oneshot',
    ...body,
    '',
  ].join('\n');
}

/** sysusers.d(5): a locked system user and its group, no home, no shell. */
export function renderSysusers(origin: Origin = 'install'): string {
  return [
    origin === 'install'
      ? '# Written by `systemd-heartbeat install`; `systemd-heartbeat uninstall` removes it and the user.'
      : '# Shipped by the systemd-heartbeat package; purging the package removes the user.',
    `u ${SERVICE_USER} - "systemd-heartbeat exporter" / /usr/sbin/nologin`,
    '',
  ].join('\n');
}

export function renderTimer(o: { readonly intervalSeconds: number; readonly origin?: Origin }): string {
  const every = `${o.intervalSeconds}s`;
  return [
    WRITTEN_BY[o.origin ?? 'install'],
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
