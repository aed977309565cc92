/**
 * A/B timing of entry points, for changes to the build or the export edge: `npm run bench`
 * times the shipped tick against the floor; this times any set of files side by side, same
 * protocol (clean env, rotating order, rusage from bench/rusage.py, a real VictoriaMetrics).
 *
 *   node --import tsx scripts/bench/ab.ts [--n 10] [--reps 40] name=path.cjs name2=path2.cjs ...
 *
 * An entry may put node flags before its path: `ss1='--max-semi-space-size=1 dist/x.cjs'`.
 *
 * `floor` is always included (scripts/bench/floor.cjs). Prints the median wall, CPU and peak RSS
 * of each, and each one's median per-round ratio to the floor.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startVictoria } from '../../test/support/victoria.ts';
import { median, startRunner, type Sample } from './runner.ts';
import { replaySystemd } from './units.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

const args = process.argv.slice(2);
let n = 10;
let reps = 40;
const entries: Array<[string, string]> = [['floor', join(REPO, 'scripts/bench/floor.cjs')]];
for (let i = 0; i < args.length; i++) {
  const a = args[i] as string;
  if (a === '--n') n = Number(args[++i]);
  else if (a === '--reps') reps = Number(args[++i]);
  else {
    const eq = a.indexOf('=');
    entries.push([a.slice(0, eq), a.slice(eq + 1)]);
  }
}

const runner = startRunner();
const scratch = mkdtempSync(join(tmpdir(), 'hb-ab-'));

const replays = entries.map(() => replaySystemd(n));
const vm = await startVictoria();
try {
  const env = (i: number): Record<string, string> => ({
    PATH: '/usr/local/bin:/usr/bin:/bin',
    ...replays[i]?.env,
    SYSTEMD_HEARTBEAT_HOST: `ab-${i}`,
    SYSTEMD_HEARTBEAT_STATE_DIR: join(scratch, `state-${i}`),
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: vm.otlpUrl,
  });
  const samples: Sample[][] = entries.map(() => []);
  for (let round = 0; round < 3 + reps; round++) {
    for (let k = 0; k < entries.length; k++) {
      const i = (round + k) % entries.length;
      const s = await runner.run([process.execPath, ...(entries[i] as [string, string])[1].split(' ')], env(i));
      if (round >= 3) (samples[i] as Sample[]).push(s);
    }
  }
  const cpu = (s: Sample): number => s.user_ms + s.sys_ms;
  const floor = samples[0] as Sample[];
  console.log(`N=${n}, ${reps} rounds: name  wall  CPU  RSS-MB  | ratios to floor wall CPU RSS`);
  entries.forEach(([name], i) => {
    const ss = samples[i] as Sample[];
    const ratio = (f: (s: Sample) => number): string => median(ss.map((s, r) => f(s) / f(floor[r] as Sample))).toFixed(3);
    console.log(
      `${name.padEnd(14)} ${median(ss.map((s) => s.wall_ms))
        .toFixed(1)
        .padStart(6)} ${median(ss.map(cpu)).toFixed(1).padStart(6)} ` +
        `${(median(ss.map((s) => s.maxrss_kb)) / 1024).toFixed(1).padStart(5)}  | ${ratio((s) => s.wall_ms)} ${ratio(cpu)} ${ratio((s) => s.maxrss_kb)}`,
    );
  });
} finally {
  runner.stop();
  await vm.stop();
  for (const r of replays) r.remove();
  rmSync(scratch, { recursive: true, force: true });
}
