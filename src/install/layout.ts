/**
 * Pure: where install puts things and what it asks systemctl to do, per scope.
 */
import { defaultStateDir } from '../config.ts';
import { usageError } from '../errors.ts';
import type { Scope } from '../systemd/systemctl.ts';
import { SERVICE, TIMER, BUNDLE_NAME, CODE_CACHE_NAME, CREDSTORE_NAME, MAKE_CODE_CACHE_NAME, SYSUSERS_PATH } from './units.ts';

/** A test hook like DESTDIR: every path install/uninstall touches is below it. */
export const INSTALL_ROOT_ENV = 'SYSTEMD_HEARTBEAT_INSTALL_ROOT';
export interface Layout {
  readonly scope: Scope;
  /** Where systemd reads the units (unprefixed, as the manager sees it). */
  readonly unitDir: string;
  readonly libDir: string;
  /** What ExecStart= runs. */
  readonly bundlePath: string;
  /** The bundle's code cache, beside it. */
  readonly codeCachePath: string;
  /** The code cache's maker, beside it when the bundle came without a cache. */
  readonly makerPath: string;
  /** The symlink `enable` makes; uninstall removes it even when systemctl cannot. */
  readonly wantsLink: string;
  /** Created by systemd (StateDirectory=) or the exporter; removed by uninstall. */
  readonly stateDirs: readonly string[];
  /** The operator's files: never written or removed, listed by uninstall. */
  readonly operatorFiles: readonly string[];
  /** The unit's EnvironmentFile= (one of operatorFiles). */
  readonly environmentFile: string;
  /** User units: the token file LoadCredential= reads when it exists. */
  readonly userTokenPath: string | undefined;
  /** System units: the sysusers.d file for the service user. */
  readonly sysusersPath: string | undefined;
}

/** The paths both scopes derive alike from where the units and the bundle go. */
function placed(
  unitDir: string,
  libDir: string,
): Pick<Layout, 'unitDir' | 'libDir' | 'bundlePath' | 'codeCachePath' | 'makerPath' | 'wantsLink'> {
  return {
    unitDir,
    libDir,
    bundlePath: `${libDir}/${BUNDLE_NAME}`,
    codeCachePath: `${libDir}/${CODE_CACHE_NAME}`,
    makerPath: `${libDir}/${MAKE_CODE_CACHE_NAME}`,
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
      environmentFile: '/etc/default/systemd-heartbeat',
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
    environmentFile: `${configHome}/systemd-heartbeat/environment`,
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
