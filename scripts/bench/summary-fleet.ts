/**
 * `npm run bench:fleet`: the daily summary over a fleet (issue 22's bounds). Backfills 1000
 * hosts x 24 h of heartbeats (20 with a failed unit, 10 with a gap; test/support/fleet.ts) into
 * a real VictoriaMetrics, runs the built `summary` BENCH_REPS times (default 5) as text and as
 * JSON under bench/rusage.py, and prints the medians against the bounds: <= 3 s wall and
 * <= 200 MB peak RSS on this 2-core machine.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FLEET, backfillFleet, fleetEnd } from '../../test/support/fleet.ts';
import { startVictoria } from '../../test/support/victoria.ts';
import { median } from './runner.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const REPS = Number(process.env.BENCH_REPS ?? 5);
const BOUNDS = { wallMs: 3000, rssMb: 200 };

const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: REPO, stdio: 'inherit' });
if (build.status !== 0) process.exit(1);
const vm = await startVictoria();
const dir = mkdtempSync(join(tmpdir(), 'hb-bench-fleet-'));
let failed = false;
try {
  const end = fleetEnd();
  const started = Date.now();
  await backfillFleet(vm, end);
  console.log(`backfilled ${FLEET.hosts} hosts x 24 h in ${Date.now() - started} ms`);
  for (const format of ['text', 'json']) {
    const samples: Array<{ wall: number; rss: number }> = [];
    for (let i = 0; i < REPS; i++) {
      const job = {
        argv: [
          process.execPath,
          join(REPO, 'dist/systemd-heartbeat.cjs'),
          'summary',
          '--vm-url',
          vm.url,
          '--format',
          format,
          '--timeout',
          '25s',
        ],
        env: { PATH: '/usr/bin:/bin', SYSTEMD_HEARTBEAT_TEST_NOW: String(end) },
        stdout: join(dir, 'out'),
        stderr: join(dir, 'err'),
      };
      const r = spawnSync('python3', [join(REPO, 'scripts/bench/rusage.py')], { input: `${JSON.stringify(job)}\n`, encoding: 'utf8' });
      const sample = JSON.parse(r.stdout) as { status: number; wall_ms: number; maxrss_kb: number };
      if (sample.status !== 3) throw new Error(`summary exited ${sample.status} (3 expected: the fleet has problems)`);
      samples.push({ wall: sample.wall_ms, rss: sample.maxrss_kb / 1024 });
    }
    const wall = median(samples.map((s) => s.wall));
    const rss = median(samples.map((s) => s.rss));
    const ok = wall <= BOUNDS.wallMs && rss <= BOUNDS.rssMb;
    failed ||= !ok;
    console.log(
      `summary --format ${format}, ${FLEET.hosts} hosts x 24 h, median of ${REPS}: ${wall.toFixed(0)} ms wall (<= ${BOUNDS.wallMs}), ${rss.toFixed(1)} MB peak RSS (<= ${BOUNDS.rssMb}) ${ok ? 'ok' : 'OVER'}`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  await vm.stop();
}
process.exit(failed ? 1 : 0);
