/**
 * What the live install, package and tarball tests ask of the isolated systemd and of
 * VictoriaMetrics alike: a command that must succeed, the files named like us, the runs pushed.
 */
import assert from 'node:assert/strict';
import type { Sandbox } from '../harness/sandbox.ts';
import type { Victoria } from './victoria.ts';

/** A runner of commands inside the sandbox that must exit 0 within `timeoutMs`; their stdout. */
export function commandRunner(timeoutMs: number, env?: Record<string, string>): (sb: Sandbox, argv: string[]) => Promise<string> {
  return async (sb, argv) => {
    const r = await sb.exec(argv, { timeoutMs, ...(env ? { env } : {}) });
    assert.equal(r.code, 0, `${argv.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  };
}

/** A runner from commandRunner. */
export type Ok = ReturnType<typeof commandRunner>;

/** Every path under `searched` named like us (`*systemd-heartbeat*`), sorted, found with `ok`; `prune` is not descended into. */
export async function filesNamedLikeUs(ok: Ok, sb: Sandbox, searched: readonly string[], prune?: string): Promise<string[]> {
  const out = await ok(sb, [
    'find',
    ...searched,
    ...(prune ? ['-path', prune, '-prune', '-o'] : []),
    '-name',
    '*systemd-heartbeat*',
    '-print',
  ]);
  return out
    .split('\n')
    .filter((l) => l !== '')
    .sort();
}

/** Distinct last-run stamps pushed so far (one per run that pushed), of `host` or of every host. */
export async function runStamps(vm: Victoria, host?: string): Promise<number[]> {
  await vm.flush();
  const series = await vm.exportRaw(`systemd_heartbeat_last_run_timestamp_seconds${host === undefined ? '' : `{host="${host}"}`}`);
  return [...new Set(series.flatMap((s) => s.values))].sort((a, b) => a - b);
}
