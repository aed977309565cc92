/**
 * The benchmarks' measuring process (bench/rusage.py: one job in, one rusage line out, read
 * with os.wait4) and the median they report; shared by bench.ts and bench/ab.ts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

export interface Sample {
  readonly status: number;
  readonly wall_ms: number;
  readonly user_ms: number;
  readonly sys_ms: number;
  readonly maxrss_kb: number;
}

/** The persistent measuring process: one job in, one rusage line out. */
export function startRunner(): { run(argv: string[], env: Record<string, string>): Promise<Sample>; stop(): void } {
  if (spawnSync('python3', ['--version']).status !== 0) {
    throw new Error("python3 is needed: scripts/bench/rusage.py reads each run's rusage with os.wait4");
  }
  const child = spawn('python3', [join(REPO, 'scripts/bench/rusage.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const waiting: Array<(line: string) => void> = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  child.on('error', (error) => {
    throw new Error(`python3 (scripts/bench/rusage.py) failed: ${error.message}`);
  });
  const scratch = mkdtempSync(join(tmpdir(), 'hb-bench-out-'));
  return {
    run(argv, env) {
      const stdout = join(scratch, 'stdout');
      const stderr = join(scratch, 'stderr');
      return new Promise<Sample>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer from the runner for ${argv.join(' ')}`)), 60_000);
        waiting.push((line) => {
          clearTimeout(timer);
          const sample = JSON.parse(line) as Sample;
          if (sample.status !== 0) {
            reject(new Error(`${argv.slice(1).join(' ')} exited ${sample.status}: ${readFileSync(stderr, 'utf8').trim()}`));
          } else resolve(sample);
        });
        child.stdin.write(`${JSON.stringify({ argv, env, stdout, stderr })}\n`);
      });
    },
    stop() {
      child.stdin.end();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
