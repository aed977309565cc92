/**
 * Pure: state.json as the previous run wrote it, checked field by field. Anyone who can write
 * the state directory (or a disk error) can put anything there: a count that is a string would
 * be concatenated on every run, a key such as `constructor` would read Object's own. So every
 * number must be a finite number, every map is rebuilt from its own keys only (and read with
 * Object.hasOwn where it is used), and an entry
 * that does not check out is left out (its counter starts again at 0), not the whole file.
 */
import type { FailureMemory, FailuresMemory } from './failures.ts';
import type { JournalPosition } from './journal-position.ts';
import type { StartsMemory, UnitMemory } from './starts.ts';
import type { TimerMemory, TimersMemory } from './timers.ts';

export interface State {
  readonly units: StartsMemory;
  /** Runs ever dropped from the spool unsent (systemd_heartbeat_spool_dropped_runs_total). */
  readonly spoolDropped: number;
  readonly timers: TimersMemory;
  readonly journal: JournalPosition;
  /** Per allowlisted unit: failures and reloads (systemd_unit_failures_total, ...). */
  readonly failures: FailuresMemory;
}

export const EMPTY_STATE: State = { units: {}, spoolDropped: 0, timers: {}, journal: {}, failures: {} };

type Fields = Record<string, unknown>;

function isRecord(v: unknown): v is Fields {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The own entries of `value` that `keep` accepts (never `__proto__`), in a new map. */
export function ownEntries<T>(value: unknown, keep: (v: unknown) => T | undefined): Record<string, T> {
  const out: Record<string, T> = {};
  if (!isRecord(value)) return out;
  for (const key of Object.keys(value)) {
    if (key === '__proto__') continue;
    const kept = keep(value[key]);
    if (kept !== undefined) out[key] = kept;
  }
  return out;
}

/** The fields of `v` that have the type asked, others left out. */
function optional<K extends string>(v: Fields, key: K, check: (x: unknown) => boolean): Partial<Record<K, never>> {
  return check(v[key]) ? ({ [key]: v[key] } as Partial<Record<K, never>>) : {};
}

const isString = (x: unknown): boolean => typeof x === 'string';

function unitMemory(v: unknown): UnitMemory | undefined {
  if (!isRecord(v) || !isCount(v.starts)) return undefined;
  return { starts: v.starts, ...optional(v, 'invocationId', isString), ...optional(v, 'inactiveExit', isTime) };
}

function timerMemory(v: unknown): TimerMemory | undefined {
  if (!isRecord(v) || typeof v.service !== 'string') return undefined;
  return {
    service: v.service,
    runs: ownEntries(v.runs, (n) => (isCount(n) ? n : undefined)),
    ...optional(v, 'lastSuccess', isTime),
    ...optional(v, 'lastResult', isString),
    ...optional(v, 'lastResultAt', isTime),
    ...optional(v, 'countedInvocation', isString),
  };
}

function failureMemory(v: unknown): FailureMemory | undefined {
  if (!isRecord(v)) return undefined;
  const counts = (x: unknown) => ownEntries(x, (n) => (isCount(n) ? n : undefined));
  return {
    failures: counts(v.failures),
    reloads: counts(v.reloads),
    ...optional(v, 'lastFailure', isTime),
    ...optional(v, 'lastFailureResult', isString),
    ...optional(v, 'countedInvocation', isString),
  };
}

function journalPosition(v: unknown): JournalPosition {
  if (!isRecord(v)) return {};
  return { ...optional(v, 'cursor', isString), ...optional(v, 'since', isTime), ...optional(v, 'readable', (x) => typeof x === 'boolean') };
}

/** The state in `parsed`, or undefined when it is not a state file at all. */
export function decodeState(parsed: unknown): State | undefined {
  if (!isRecord(parsed) || !isRecord(parsed.units) || !isCount(parsed.spoolDropped)) return undefined;
  return {
    units: ownEntries(parsed.units, unitMemory) as StartsMemory,
    spoolDropped: parsed.spoolDropped,
    // timers, journal and failures came later: a state file without them is still good.
    timers: ownEntries(parsed.timers, timerMemory) as TimersMemory,
    journal: journalPosition(parsed.journal),
    failures: ownEntries(parsed.failures, failureMemory) as FailuresMemory,
  };
}
