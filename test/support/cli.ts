/** Runs the built CLI (dist/systemd-heartbeat.cjs) as a process, the way systemd runs it. */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
export const CLI = `${REPO}/dist/systemd-heartbeat.cjs`;

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build (npm test does)`);
}

/**
 * A clean environment like a systemd unit's, plus `env`; bounded by `timeoutMs`. Unless `env`
 * names one, each run gets its own empty state directory (removed afterwards), so tests never
 * touch the host's /var/lib/systemd-heartbeat nor see each other's spool.
 */
export function runCli(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<CliResult> {
  assertBuilt();
  const started = performance.now();
  // A replayed systemctl (support/replay.ts) has a replayed journalctl beside it.
  const beside = env.SYSTEMD_HEARTBEAT_SYSTEMCTL && join(dirname(env.SYSTEMD_HEARTBEAT_SYSTEMCTL), 'journalctl');
  if (beside && !env.SYSTEMD_HEARTBEAT_JOURNALCTL && existsSync(beside)) env = { ...env, SYSTEMD_HEARTBEAT_JOURNALCTL: beside };
  // A replay has no PID 1 and so no invocation links (a directory that is not there): every tick
  // shows every unit, as the recording was made, whatever the host's /run/systemd/units holds.
  if (env.SYSTEMD_HEARTBEAT_SYSTEMCTL && !env.SYSTEMD_HEARTBEAT_INVOCATIONS_DIR) {
    env = { ...env, SYSTEMD_HEARTBEAT_INVOCATIONS_DIR: join(dirname(env.SYSTEMD_HEARTBEAT_SYSTEMCTL), 'no-units') };
  }
  const scratchState = env.SYSTEMD_HEARTBEAT_STATE_DIR ? undefined : mkdtempSync(join(tmpdir(), 'heartbeat-state-'));
  const cleanup = (): void => {
    if (scratchState) rmSync(scratchState, { recursive: true, force: true });
  };
  return new Promise<CliResult>((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...(scratchState ? { SYSTEMD_HEARTBEAT_STATE_DIR: scratchState } : {}), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  }).finally(cleanup);
}

/** Real-stack tests skip where they cannot run, except under HEARTBEAT_REQUIRE_REAL=1 (CI). */
export function skipReason(reason: string | undefined): string | undefined {
  if (reason && process.env.HEARTBEAT_REQUIRE_REAL === '1') {
    throw new Error(`HEARTBEAT_REQUIRE_REAL=1 but a real-stack test cannot run: ${reason}`);
  }
  return reason;
}
