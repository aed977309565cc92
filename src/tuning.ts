/**
 * Edge: tuning V8 for a oneshot. A tick lives well under a second. For a large one, two of V8's
 * defaults cost more than they bring: the optimizing compiler (TurboFan) works in background
 * threads on the hot parse and export loops and is never paid back, and the young generation
 * doubles while the tick's data (all of it alive until the push) survives scavenges, which is
 * most of a large tick's peak RSS. Both flags are read by V8 as it goes, so setting them at run
 * time works (command-line V8 flags would not do: they make node's own and our code caches
 * mismatch, +12 ms a tick). Measured by scripts/bench/ab.ts on 2 cores, node 20, as ratios to
 * the floor (before -> --no-opt -> also --semi-space-growth-factor=1 -> also
 * --no-parallel-scavenge, since with a small young generation the scavenges are many and
 * helper threads cost more CPU than they save):
 *   100 units   CPU 1.28 -> 1.12 -> 1.05 -> 1.02   peak RSS 1.10 -> 0.99 -> 0.95 -> 0.95
 *   1000 units  CPU 1.02 -> 0.88 -> 0.73 -> 0.69   peak RSS 1.00 -> 1.01 -> 0.76 -> 0.76 (87 -> 66 MB)
 * At 10 units V8 optimizes next to nothing and the young generation stays small, while loading
 * node:v8 costs ~4 ms, so small ticks are left alone.
 */

/** From this many units read in a tick (shown or kept), it runs without TurboFan from then on. */
export const INTERPRETED_FROM_UNITS = 40;

let tuned = false;

/** No further optimizing compiles, young-generation growth or parallel scavenges in this process (idempotent). */
export async function preferInterpreter(): Promise<void> {
  if (tuned) return;
  tuned = true;
  // Flags set at run time apply to what is compiled from then on; the code cache has already
  // been taken (its flag hash was checked when the bundle was compiled).
  const v8 = await import('node:v8');
  v8.setFlagsFromString('--no-opt');
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  v8.setFlagsFromString('--no-parallel-scavenge');
}
