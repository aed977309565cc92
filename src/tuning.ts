/**
 * Edge: tuning V8 for a oneshot. A tick lives well under a second; what V8's optimizing
 * compiler (TurboFan) does in its background threads for the hot parse and export loops of a
 * large tick is paid for and never earned back. Measured by scripts/bench/ab.ts on 2 cores,
 * node 20 (tick with `--no-opt` against without, as ratios to the floor): 100 units CPU 1.24 ->
 * 1.14 and peak RSS 1.10 -> 1.00; 300 units CPU 1.51 -> 1.20; 1000 units CPU 0.96 -> 0.86,
 * RSS -4 MB. At 10 units V8 optimizes next to nothing, and loading node:v8 costs ~4 ms, so
 * small ticks are left alone.
 */

/** At this many units in one show call a tick runs without TurboFan from then on. */
export const INTERPRETED_FROM_UNITS = 40;

let tuned = false;

/** Stops V8 from optimizing further code in this process (idempotent). */
export async function preferInterpreter(): Promise<void> {
  if (tuned) return;
  tuned = true;
  // Flags set at run time apply to what is compiled from then on; the code cache has already
  // been taken (its flag hash was checked when the bundle was compiled).
  (await import('node:v8')).setFlagsFromString('--no-opt');
}
