/**
 * Pure: a `systemctl show` record -> a typed UnitStatus. Times are kept as systemd gives
 * them (monotonic microseconds, realtime seconds); undefined stands for "[not set]", 0 or
 * an unparseable value.
 */
import { calendarIntervalSeconds } from './calendar.ts';
import { firstValue, parseCount, parseMonotonicUs, parseRealtime, parseTimerEntry, parseTimespan, type ShowRecord } from './parse.ts';

/**
 * Exactly the properties a tick reads, in one `systemctl show` call. `-p` filters on the
 * client side, so asking for fewer saves little; asking for one we do not use is noise.
 */
export const SHOW_PROPERTIES = [
  'Id',
  'Names',
  'LoadState',
  'ActiveState',
  'SubState',
  'Result',
  'NRestarts',
  'ExecMainStatus',
  'ExecMainExitTimestampMonotonic',
  'InactiveExitTimestampMonotonic',
  'InactiveEnterTimestampMonotonic',
  'ActiveExitTimestampMonotonic',
  'InvocationID',
  'Unit',
  'TimersMonotonic',
  'TimersCalendar',
  'LastTriggerUSec',
  'LastTriggerUSecMonotonic',
  'NextElapseUSecRealtime',
  'NextElapseUSecMonotonic',
  // A reload whose ExecReload= failed leaves the unit active with Result=success: only this tells (252).
  'ReloadResult',
  // A start skipped by Condition*=: ConditionResult=no, no InvocationID (252); 0 before any check.
  'ConditionResult',
  'ConditionTimestampMonotonic',
] as const;

export interface TimerStatus {
  /** The unit it activates (Unit=). */
  readonly unit: string | undefined;
  /** Unix seconds of the last trigger (LastTriggerUSec); undefined when it never triggered. */
  readonly lastTriggerRealtime: number | undefined;
  /** CLOCK_MONOTONIC seconds of the last trigger; undefined when it was before this boot. */
  readonly lastTriggerMonotonic: number | undefined;
  readonly nextElapseRealtime: number | undefined;
  readonly nextElapseMonotonic: number | undefined;
  /** The repeating period in seconds, see timerInterval(). */
  readonly intervalSeconds: number | undefined;
}

export interface UnitStatus {
  readonly id: string;
  readonly names: readonly string[];
  readonly loadState: string;
  readonly activeState: string;
  readonly subState: string;
  readonly result: string | undefined;
  /** Services only. */
  readonly nRestarts: number | undefined;
  readonly execMainStatus: number | undefined;
  /** CLOCK_MONOTONIC seconds; undefined = never (since boot). */
  readonly execMainExitMonotonic: number | undefined;
  readonly inactiveExitMonotonic: number | undefined;
  /** When it last became inactive: the end of a oneshot's run. */
  readonly inactiveEnterMonotonic?: number | undefined;
  readonly activeExitMonotonic: number | undefined;
  readonly invocationId: string | undefined;
  /** Services: the Result of the latest reload (success, exit-code, ...); undefined when not shown. */
  readonly reloadResult?: string | undefined;
  /** Whether the conditions held at the latest start; undefined before any start was checked. */
  readonly conditionMet?: boolean | undefined;
  /** Timers only. */
  readonly timer: TimerStatus | undefined;
}

/** The unit type, from the name's suffix: "service", "timer", ... */
export function unitType(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot + 1);
}

function monotonicSeconds(record: ShowRecord, key: string): number | undefined {
  const us = parseMonotonicUs(firstValue(record, key));
  return us === undefined ? undefined : us / 1e6;
}

/** LastTriggerUSecMonotonic / NextElapseUSecMonotonic print as a timespan in 252. */
function monotonicTimespan(record: ShowRecord, key: string): number | undefined {
  const value = firstValue(record, key);
  if (value === undefined) return undefined;
  const seconds = parseTimespan(value);
  return seconds === undefined || seconds <= 0 ? undefined : seconds;
}

function text(record: ShowRecord, key: string): string | undefined {
  const value = firstValue(record, key);
  return value === undefined || value === '' || value === '[not set]' ? undefined : value;
}

/** Repeating monotonic bases: they fire again after every run. OnActive/OnBoot/OnStartup fire once. */
const REPEATING_MONOTONIC = new Set(['OnUnitActiveUSec', 'OnUnitInactiveUSec']);

/**
 * The timer's own period: the shortest repeating monotonic setting and the longest gap of
 * each calendar spec's next elapses; when a timer has several, the shortest wins because it
 * fires on whichever comes first. undefined for a timer that does not repeat.
 */
export function timerInterval(record: ShowRecord, nowRealtimeMs: number): number | undefined {
  const periods: number[] = [];
  for (const raw of record.get('TimersMonotonic') ?? []) {
    const entry = parseTimerEntry(raw);
    if (!entry || !REPEATING_MONOTONIC.has(entry.base)) continue;
    const seconds = parseTimespan(entry.value);
    if (seconds !== undefined && seconds > 0) periods.push(seconds);
  }
  for (const raw of record.get('TimersCalendar') ?? []) {
    const entry = parseTimerEntry(raw);
    if (entry?.base !== 'OnCalendar') continue;
    const seconds = calendarIntervalSeconds(entry.value, nowRealtimeMs);
    if (seconds !== undefined && seconds > 0) periods.push(seconds);
  }
  return periods.length === 0 ? undefined : Math.min(...periods);
}

function conditionMet(record: ShowRecord): boolean | undefined {
  const checked = monotonicSeconds(record, 'ConditionTimestampMonotonic');
  const result = firstValue(record, 'ConditionResult');
  if (checked === undefined || (result !== 'yes' && result !== 'no')) return undefined;
  return result === 'yes';
}

export function toUnitStatus(record: ShowRecord, nowRealtimeMs: number): UnitStatus {
  const id = firstValue(record, 'Id') ?? '';
  const isService = unitType(id) === 'service';
  const isTimer = unitType(id) === 'timer';
  return {
    id,
    names: (firstValue(record, 'Names') ?? id).split(' ').filter((n) => n !== ''),
    loadState: firstValue(record, 'LoadState') ?? '',
    activeState: firstValue(record, 'ActiveState') ?? '',
    subState: firstValue(record, 'SubState') ?? '',
    result: text(record, 'Result'),
    nRestarts: isService ? parseCount(firstValue(record, 'NRestarts')) : undefined,
    execMainStatus: isService ? parseCount(firstValue(record, 'ExecMainStatus')) : undefined,
    execMainExitMonotonic: monotonicSeconds(record, 'ExecMainExitTimestampMonotonic'),
    inactiveExitMonotonic: monotonicSeconds(record, 'InactiveExitTimestampMonotonic'),
    inactiveEnterMonotonic: monotonicSeconds(record, 'InactiveEnterTimestampMonotonic'),
    activeExitMonotonic: monotonicSeconds(record, 'ActiveExitTimestampMonotonic'),
    invocationId: text(record, 'InvocationID'),
    reloadResult: isService ? text(record, 'ReloadResult') : undefined,
    conditionMet: conditionMet(record),
    timer: isTimer
      ? {
          unit: text(record, 'Unit'),
          lastTriggerRealtime: parseRealtime(firstValue(record, 'LastTriggerUSec') ?? ''),
          lastTriggerMonotonic: monotonicTimespan(record, 'LastTriggerUSecMonotonic'),
          nextElapseRealtime: parseRealtime(firstValue(record, 'NextElapseUSecRealtime') ?? ''),
          nextElapseMonotonic: monotonicTimespan(record, 'NextElapseUSecMonotonic'),
          intervalSeconds: timerInterval(record, nowRealtimeMs),
        }
      : undefined,
  };
}
