/**
 * Edge: spawning systemctl. Bounded in time (the child is killed), in a C locale and UTC so
 * the output parses the same everywhere, with no pager or colours.
 */
import { execFile } from 'node:child_process';
import { EXIT, HeartbeatError } from '../errors.ts';
import type { RunJournalctl, RunSystemctl } from './collect.ts';

/** Which manager: PID 1 (`systemctl --system`) or the user's (`systemctl --user`). */
export type Scope = 'system' | 'user';

export interface SystemctlOptions {
  readonly scope: Scope;
  /** The bound on the next call, in ms: what is left of the run's budget. sd-bus' own
   * default (25 s) would outlast the 30 s period. */
  readonly timeoutMs: () => number;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** What the child inherits: only what systemctl needs to find its bus. */
function childEnv(env: SystemctlOptions['env']): Record<string, string> {
  const out: Record<string, string> = {
    LC_ALL: 'C',
    // LastTriggerUSec ignores --timestamp=unix before systemd 259; in UTC its text parses exactly.
    TZ: 'UTC',
    SYSTEMD_PAGER: '',
    SYSTEMD_COLORS: '0',
    PATH: env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  };
  for (const key of ['XDG_RUNTIME_DIR', 'DBUS_SESSION_BUS_ADDRESS', 'DBUS_SYSTEM_BUS_ADDRESS', 'SYSTEMD_BUS_TIMEOUT']) {
    const value = env[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

interface Finished {
  readonly stdout: string;
  readonly stderr: string;
  /** The exit code; 0 on success. */
  readonly code: number;
}

/**
 * Runs `binary argv` within `timeoutMs` (SIGKILL after it) and resolves with its output and
 * exit code; rejects, naming `command`, only when it cannot start or does not finish in time.
 */
function runBounded(
  binary: string,
  argv: readonly string[],
  env: Record<string, string>,
  timeoutMs: number,
  command: string,
  maxBytes: number,
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    execFile(
      binary,
      argv,
      { env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: maxBytes, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (!error) return resolve({ stdout, stderr, code: 0 });
        const e = error as NodeJS.ErrnoException & { killed?: boolean; signal?: string; code?: unknown };
        if (e.code === 'ENOENT') return reject(new HeartbeatError(EXIT.failure, `${command}: ${binary} not found on PATH`));
        if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
          return reject(
            new HeartbeatError(EXIT.failure, `${command}: more than ${maxBytes} bytes of output, more than it can need here; killed`),
          );
        }
        if (e.killed || e.signal === 'SIGKILL') {
          return reject(new HeartbeatError(EXIT.failure, `${command}: no answer within ${timeoutMs} ms, killed`));
        }
        if (typeof e.code !== 'number') return reject(new HeartbeatError(EXIT.failure, `${command}: ${e.message}`));
        resolve({ stdout, stderr, code: e.code });
      },
    );
  });
}

/**
 * The most output a call can need: `show` holds ~1.5 KB per unit for SHOW_PROPERTIES (a long
 * TimersCalendar more), so 32 KiB per unit asked plus 1 MiB; list-units ~200 bytes per unit
 * on the host; journalctl JOURNAL_CAP entries of under 1 KiB. Anything beyond is not an answer
 * (a hostile or broken binary) and is not held in memory: 256 MB was, before.
 */
export const OUTPUT_CAP = { perShownUnit: 32 * 1024, base: 1024 * 1024, listUnits: 16 * 1024 * 1024, journal: 16 * 1024 * 1024 };

function outputCap(args: readonly string[]): number {
  if (args[0] !== 'show') return OUTPUT_CAP.listUnits;
  const units = args.length - Math.max(0, args.indexOf('--')) - 1;
  return OUTPUT_CAP.base + units * OUTPUT_CAP.perShownUnit;
}

export function createSystemctl(options: SystemctlOptions): RunSystemctl {
  // A test and benchmark hook: replay recorded output through the real CLI (see README).
  const binary = options.env.SYSTEMD_HEARTBEAT_SYSTEMCTL || 'systemctl';
  const env = childEnv(options.env);
  return async (args) => {
    const timeoutMs = Math.max(1, Math.round(options.timeoutMs()));
    const command = `${binary} ${args[0] ?? ''}`;
    const done = await runBounded(binary, [`--${options.scope}`, '--no-pager', ...args], env, timeoutMs, command, outputCap(args));
    if (done.code === 0) return done.stdout;
    const detail = done.stderr.trim().split('\n')[0] || 'no message';
    throw new HeartbeatError(EXIT.failure, `${command} exited with ${done.code}: ${detail}`);
  };
}

/**
 * `journalctl` for the timers' finished runs: the same bounds and environment. A non-zero
 * exit is not an error here: journalctl exits 1 when it may not open the journal, and says
 * why on stderr, which the caller reads.
 */
export function createJournalctl(options: Omit<SystemctlOptions, 'scope'>): RunJournalctl {
  const binary = options.env.SYSTEMD_HEARTBEAT_JOURNALCTL || 'journalctl';
  const env = childEnv(options.env);
  return (args) => runBounded(binary, args, env, Math.max(1, Math.round(options.timeoutMs())), 'journalctl', OUTPUT_CAP.journal);
}
