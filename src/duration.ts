/**
 * Pure: the one grammar for every duration a user types, in flags, environment variables and
 * the config file alike. systemd's own spelling (systemd.time(7)), minus months and years:
 * `30s`, `2500ms`, `5min`, `5m`, `1h30m`, `1h 30min`, `7d`, `2w`, `1.5s`. A bare number takes
 * the unit the setting names (seconds for our flags, milliseconds for OTEL_*_TIMEOUT, as the
 * OTel specification says).
 */
import { usageError } from './errors.ts';

/** Milliseconds per unit word; the longest spelling first in the regex below. */
const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  msec: 1,
  s: 1000,
  sec: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
  w: 604_800_000,
  week: 604_800_000,
  weeks: 604_800_000,
};

/** `{0,}`, not `*`, before the closing slash: see describeError in errors.ts. */
const TERM = /(\d+(?:\.\d+)?)\s*([a-z]*)\s{0,}/gy;

export interface DurationRule {
  /** What the value came from, for the message: `--timeout`, `OTEL_EXPORTER_OTLP_TIMEOUT`. */
  readonly field: string;
  readonly minMs: number;
  readonly maxMs: number;
  /** The unit of a bare number (default seconds). */
  readonly bare?: 's' | 'ms';
  /** Whole seconds only (a timer's period is written into a unit as `Ns`). */
  readonly wholeSeconds?: boolean;
}

/** The duration in milliseconds, or undefined when the text is not a duration at all. */
export function durationMs(text: string, bare: 's' | 'ms' = 's'): number | undefined {
  const value = text.trim().toLowerCase();
  if (value === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * (bare === 's' ? 1000 : 1);
  let total = 0;
  TERM.lastIndex = 0;
  let end = 0;
  for (let m = TERM.exec(value); m !== null; m = TERM.exec(value)) {
    const unit = UNIT_MS[m[2] as string];
    if (unit === undefined) return undefined;
    total += Number(m[1]) * unit;
    end = TERM.lastIndex;
  }
  return end === value.length ? total : undefined;
}

/** Parses and bounds one setting; a usage error names the field, the bounds and examples. */
export function parseDuration(text: string, rule: DurationRule): number {
  const ms = durationMs(text, rule.bare);
  const whole = !rule.wholeSeconds || (ms !== undefined && ms % 1000 === 0);
  if (ms === undefined || !whole || ms < rule.minMs || ms > rule.maxMs) {
    const range = `from ${formatDurationMs(rule.minMs)} to ${formatDurationMs(rule.maxMs)}`;
    const bare = rule.bare === 'ms' ? '; a bare number is milliseconds' : '';
    const kind = rule.wholeSeconds ? 'a whole number of seconds' : 'a duration';
    throw usageError(`${rule.field}: ${JSON.stringify(text)} must be ${kind} ${range} (e.g. 30s, 5min, 1h30m${bare})`);
  }
  return ms;
}

/** 3d 4h, 1h 30m, 5m 30s, 45s, 250ms. Two units at most: it is read, not computed with. */
export function formatDurationMs(ms: number): string {
  if (ms > 0 && ms < 1000) return `${Math.round(ms)}ms`;
  return formatDuration(ms / 1000);
}

/** Seconds as `formatDurationMs` writes them. */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  const parts: Array<[number, string]> = [
    [Math.floor(s / 86_400), 'd'],
    [Math.floor((s % 86_400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
    [s % 60, 's'],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  if (first === -1) return '0s';
  return parts
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, u]) => `${n}${u}`)
    .join(' ');
}
