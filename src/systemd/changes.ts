/**
 * Pure: which units a tick asks `systemctl show` for. Showing costs PID 1 about 0.33 ms a unit
 * whatever `-p` asks (systemd 252, 1000 units: 325-330 ms), listing them all 3.7 ms
 * (docs/performance.md), so a tick keeps the record each unit was last shown with and shows
 * again only the units that may have changed since, which three things PID 1 already tells
 * without being asked unit by unit (all measured on 252 in the isolated sandbox):
 *
 * - list-units: every unit's load, active and sub state, each tick;
 * - /run/systemd/units/invocation:UNIT, a link to the InvocationID while the unit is active or
 *   activating, new with every start, every Restart= restart included;
 * - the journal the tick reads anyway (journal.ts): every run's end, failure, reload and
 *   skipped start of a watched unit, between ticks too.
 *
 * A timer's record changes when it elapses, which no state or link tells: a timer is shown once
 * its kept NextElapseUSec (either clock) has come, and whenever its job (Unit=) is shown, since a
 * job's run moves OnUnitActiveSec=/OnUnitInactiveSec= timers. Failed units outside the allowlist
 * are shown every tick (their journal is not read; they are few). What none of them tells is `systemctl reset-failed` on an active unit (NRestarts and
 * ReloadResult go back to 0/success silently), so every unit is shown at least every
 * `fullShowSeconds`, and every tick whose detectors cannot all be read shows every unit.
 */
import type { JournalReading } from './journal.ts';
import type { ListedUnit } from './parse.ts';
import type { UnitStatus } from './unit.ts';

/** What the previous ticks showed, kept in the state directory (state/show-cache.ts). */
export interface ShowCache {
  /** The kernel's boot id when the records were shown: their monotonic times are of that boot. */
  readonly bootId: string;
  /** CLOCK_MONOTONIC seconds of the last tick that showed every unit. */
  readonly fullAt: number;
  /** The latest record of each unit shown, by the name it was asked by (failed units outside the allowlist are not kept). */
  readonly statuses: Readonly<Record<string, UnitStatus>>;
}

export interface Detectors {
  /** This tick's list-units by unit; undefined when it could not be read. */
  readonly listed: ReadonlyMap<string, ListedUnit> | undefined;
  /** InvocationID links by unit id, for the ids asked; undefined when they cannot be read. */
  readonly invocations: ReadonlyMap<string, string> | undefined;
  readonly bootId: string | undefined;
  /** CLOCK_MONOTONIC seconds now. */
  readonly monotonic: number;
  /** Unix seconds now. */
  readonly realtime: number;
  /** 0: every tick shows every unit. */
  readonly fullShowSeconds: number;
  /** Whether this tick reads the journal: without it no change between ticks is seen. */
  readonly journal: boolean;
}

export type ShowPlan =
  | { readonly full: true; readonly why: string; readonly keep: boolean }
  | { readonly full: false; readonly names: readonly string[]; readonly cache: ShowCache };

/** The cached record of `name`, own keys only (the cache is read from a file). */
export function cachedStatus(cache: ShowCache, name: string): UnitStatus | undefined {
  return Object.hasOwn(cache.statuses, name) ? cache.statuses[name] : undefined;
}

/** The names a record's unit is known by to list-units, the invocation links and the journal: its id first. */
function knownAs(name: string, cached: UnitStatus): string {
  return cached.id !== '' ? cached.id : name;
}

/**
 * Why every unit must be shown this tick, and whether its records are worth keeping (not when
 * the next tick cannot use them either); undefined when the cache and detectors can be trusted.
 */
function fullShowReason(cache: ShowCache | undefined, d: Detectors): { why: string; keep: boolean } | undefined {
  if (d.fullShowSeconds === 0) return { why: 'every tick shows every unit (fullShowSeconds 0)', keep: false };
  if (!d.journal) return { why: 'the journal is not read', keep: false };
  if (!d.invocations) return { why: 'the invocation links cannot be read', keep: false };
  if (!d.listed) return { why: 'list-units could not be read', keep: false };
  if (!cache) return { why: 'no record of a previous show', keep: true };
  if (d.bootId === undefined || !sameBoot(d.bootId, cache.bootId)) return { why: 'another boot', keep: d.bootId !== undefined };
  const age = d.monotonic - cache.fullAt;
  if (!(age >= 0) || age >= d.fullShowSeconds) return { why: 'the periodic full show', keep: true };
  return undefined;
}

/**
 * A unit may have changed when it has no record, when list-units gives another state than its
 * record, or when its invocation link names another invocation. A unit list-units does not
 * hold is not in PID 1's memory: unchanged only if its record is of a loaded, inactive unit
 * (one that `show` loaded and PID 1 let go again); a not-found one is shown every tick.
 */
function mayHaveChanged(name: string, cache: ShowCache, d: Detectors): boolean {
  const cached = cachedStatus(cache, name);
  if (!cached) return true;
  const id = knownAs(name, cached);
  const listed = d.listed?.get(id);
  if (listed) {
    if (listed.load !== cached.loadState || listed.active !== cached.activeState || listed.sub !== cached.subState) return true;
  } else if (cached.loadState !== 'loaded' || cached.activeState !== 'inactive') {
    return true;
  }
  const link = d.invocations?.get(id);
  if (link !== undefined && link !== cached.invocationId) return true;
  return timerDue(cached, d);
}

/** A timer whose kept next elapse has come (or that has a realtime one but no longer a clock to tell). */
function timerDue(cached: UnitStatus, d: Detectors): boolean {
  const timer = cached.timer;
  if (!timer) return false;
  const { nextElapseRealtime: realtime, nextElapseMonotonic: monotonic } = timer;
  return (realtime !== undefined && d.realtime >= realtime) || (monotonic !== undefined && d.monotonic >= monotonic);
}

/** The job a timer activates, by its kept record: Unit=, or NAME.service. */
export function jobOf(name: string, status: UnitStatus | undefined): string | undefined {
  if (!name.endsWith('.timer')) return undefined;
  return status?.timer?.unit ?? name.replace(/\.timer$/, '.service');
}

/** `names` and every wanted timer whose job is among them. */
function withTheirTimers(
  names: readonly string[],
  wanted: readonly string[],
  statusOf: (name: string) => UnitStatus | undefined,
): string[] {
  const picked = new Set(names);
  const out = [...names];
  for (const name of wanted) {
    const job = jobOf(name, statusOf(name));
    if (!picked.has(name) && job !== undefined && picked.has(job)) {
      picked.add(name);
      out.push(name);
    }
  }
  return out;
}

/** The ids whose invocation links a tick reads: those of the cached units it may not show. */
export function linkIds(wanted: readonly string[], always: ReadonlySet<string>, cache: ShowCache | undefined): string[] {
  if (!cache) return [];
  const ids = new Set<string>();
  for (const name of wanted) {
    const cached = cachedStatus(cache, name);
    if (cached && !always.has(name)) ids.add(knownAs(name, cached));
  }
  return [...ids];
}

/** The first show of a tick: everything, or what may have changed and what is always shown. */
export function planShow(
  wanted: readonly string[],
  always: ReadonlySet<string>,
  cache: ShowCache | undefined,
  detectors: Detectors,
): ShowPlan {
  const reason = fullShowReason(cache, detectors);
  if (reason || !cache) return { full: true, ...(reason ?? { why: 'no record of a previous show', keep: true }) };
  const names = wanted.filter((name) => always.has(name) || mayHaveChanged(name, cache, detectors));
  return { full: false, names: withTheirTimers(names, wanted, (name) => cachedStatus(cache, name)), cache };
}

/**
 * The second show, after the journal was read: every unit the journal names (again if the first
 * show had it: its entry may be later than that record) and the timers of those, and every unit
 * not shown yet when the journal could not be read whole.
 */
export function showAfterJournal(
  wanted: readonly string[],
  shown: ReadonlySet<string>,
  reading: JournalReading | undefined,
  statusOf: (name: string) => UnitStatus | undefined,
): string[] {
  if (!reading?.readable || reading.capped) return wanted.filter((name) => !shown.has(name));
  const touched = new Set(reading.units ?? []);
  if (touched.size === 0) return [];
  const named = wanted.filter((name) => touched.has(name) || touched.has(statusOf(name)?.id || name));
  return withTheirTimers(named, wanted, statusOf);
}

/** The cache to keep after a tick: the latest record of every wanted unit but those shown every tick. */
export function nextCache(
  wanted: readonly string[],
  always: ReadonlySet<string>,
  byName: ReadonlyMap<string, UnitStatus>,
  bootId: string,
  fullAt: number,
): ShowCache {
  const statuses: Record<string, UnitStatus> = {};
  for (const name of wanted) {
    const status = byName.get(name);
    if (status && !always.has(name) && name !== '__proto__') statuses[name] = status;
  }
  return { bootId, fullAt, statuses };
}

/** Whether `next` keeps anything `previous` did not: then it is written. */
export function cacheChanged(previous: ShowCache | undefined, next: ShowCache): boolean {
  if (!previous || previous.bootId !== next.bootId || previous.fullAt !== next.fullAt) return true;
  const before = Object.keys(previous.statuses);
  const after = Object.keys(next.statuses);
  if (before.length !== after.length) return true;
  return after.some((name) => JSON.stringify(cachedStatus(previous, name)) !== JSON.stringify(next.statuses[name]));
}

/**
 * The boot, when the kernel's boot id cannot be read (the shipped unit's ProcSubset=pid hides
 * /proc/sys): the realtime at which the monotonic clock started, in whole seconds. A later boot
 * starts after this one's records were kept, so it differs by at least their age; a clock that
 * was stepped (or a suspend, which CLOCK_MONOTONIC does not count) only costs a full show.
 */
export function bootFromClock(clock: { readonly monotonic: number; readonly realtime: number }): string {
  return `clock:${Math.round(clock.realtime - clock.monotonic)}`;
}

/** The same boot: the same boot id, or boot times from the clocks within 2 s (rounding, slewing). */
export function sameBoot(a: string, b: string): boolean {
  if (a === b) return true;
  if (!a.startsWith('clock:') || !b.startsWith('clock:')) return false;
  return Math.abs(Number(a.slice(6)) - Number(b.slice(6))) <= 2;
}
