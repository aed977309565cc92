/**
 * One tick's reading of systemd: at most four calls whatever the number of units (list-units
 * for globs and failed units, a show of what may have changed (changes.ts), one journalctl for
 * the watched units' runs, failures and reloads, and a show of the units it names). The edges
 * are injected.
 */
import { describeError } from '../errors.ts';
import { cacheChanged, cachedStatus, linkIds, nextCache, planShow, showAfterJournal, type ShowCache } from './changes.ts';
import { journalArgs, parseJournalOutput, type JournalFrom, type JournalReading } from './journal.ts';
import { parseListUnitsJson, parseShowOutput, type ListedUnit } from './parse.ts';
import { SHOW_PROPERTIES, toUnitStatus, type UnitStatus } from './unit.ts';

/** Both clocks read at collection time, in seconds. */
export interface Clock {
  readonly monotonic: number;
  readonly realtime: number;
}

export interface Snapshot {
  readonly host: string;
  readonly clock: Clock;
  /** The resolved allowlist, in order; status undefined when the unit could not be read. */
  readonly units: ReadonlyArray<{ readonly name: string; readonly status: UnitStatus | undefined }>;
  /** Failed units on the host that are not allowlisted. */
  readonly failedElsewhere: ReadonlyArray<{ readonly name: string; readonly result: string | undefined }>;
  /** All failed units on the host; undefined when list-units could not be read. */
  readonly failedCount: number | undefined;
  readonly collectSeconds: number;
  readonly errors: number;
}

/** Runs `systemctl <args>` (scope, environment and time bound are the edge's) and returns stdout. */
export type RunSystemctl = (args: readonly string[]) => Promise<string>;

/** Runs `journalctl <args>`; resolves with its output and exit code, rejects only when it cannot run or times out. */
export type RunJournalctl = (args: readonly string[]) => Promise<{ stdout: string; stderr: string; code: number }>;

/** An allowlisted timer and the service it triggers (read in the same show call). */
export interface WatchedTimer {
  readonly name: string;
  readonly status: UnitStatus;
  /** Unit= of the timer (what it activates). */
  readonly service: string;
  /** undefined when the service was not in the show output (a Unit= other than NAME.service). */
  readonly serviceStatus: UnitStatus | undefined;
}

/** The service a timer activates by default: the same name with .service. */
export function defaultService(timer: string): string {
  return timer.replace(/\.timer$/, '.service');
}

/**
 * One list-units call serves both glob expansion and the host's failed units. `--all` keeps
 * inactive and not-found units that are in memory; like `systemctl list-units PATTERN`, a
 * glob sees only units systemd has loaded (an unreferenced, disabled unit file is not listed).
 */
export const LIST_UNITS_ARGS = ['list-units', '--all', '--full', '--plain', '--no-legend', '--output=json'] as const;

export function showArgs(units: readonly string[]): string[] {
  // `--` so that a unit name can never be taken as an option.
  return ['show', '--timestamp=unix', '-p', SHOW_PROPERTIES.join(','), '--', ...units];
}

/**
 * Timers after every other unit: systemctl 252 reads the units of one show one after the other,
 * and a timer's record is only consistent with its job's when the job is read first. Read the
 * other way, a job can finish between the two reads, and the tick sees the timer "running" (its
 * job active) beside the job's success after the timer's last trigger, which is what a
 * RemainAfterExit=yes job stuck active looks like (SystemdTimerWillNotFire, job-remains-active).
 * Read job first, a timer still running was triggered after the job's latest finished run.
 */
export function timersLast(names: readonly string[]): string[] {
  return [...names.filter((n) => !n.endsWith('.timer')), ...names.filter((n) => n.endsWith('.timer'))];
}

export function isGlob(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

/** fnmatch(3) with FNM_NOESCAPE, as systemctl matches unit patterns: a backslash is literal (`\x2d`). */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) {
        source += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, end);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      source += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else source += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** Exact names in the order given, then each glob's matches in name order; no duplicates. */
export function resolveAllowlist(patterns: readonly string[], listed: readonly ListedUnit[] | undefined): string[] {
  const names = new Set<string>();
  for (const pattern of patterns) {
    if (!isGlob(pattern)) {
      names.add(pattern);
      continue;
    }
    const re = globToRegExp(pattern);
    const matches = (listed ?? []).map((u) => u.unit).filter((u) => re.test(u));
    for (const name of matches.sort()) names.add(name);
  }
  return [...names];
}

export interface Collection {
  readonly snapshot: Snapshot;
  /** What could not be read, one line each (also counted in systemd_heartbeat_collect_errors). */
  readonly problems: readonly string[];
  /** Glob patterns that matched no unit this tick. */
  readonly emptyGlobs: readonly string[];
  /** The raw statuses by allowlisted name, for `list` and dry-run. */
  readonly statuses: ReadonlyMap<string, UnitStatus>;
  /** Allowlisted, loaded timers with their services. */
  readonly timers: readonly WatchedTimer[];
  /** What PID 1 journaled for the watched units since `journal.from`; undefined when no journal was asked. */
  readonly journal: JournalReading | undefined;
  /** How the units were shown: every one (and why), or only those that may have changed. */
  readonly shown: { readonly units: number; readonly calls: number; readonly full: string | undefined };
  /** The records to keep for the next tick, and whether they differ from the previous tick's;
   * undefined when there are none to keep (no cache, a show failed, nothing the next tick could use). */
  readonly showCache: { readonly cache: ShowCache; readonly changed: boolean } | undefined;
}

export interface CollectOptions {
  readonly patterns: readonly string[];
  readonly host: string;
  readonly run: RunSystemctl;
  /** Both clocks, read after systemd answered so ages are not stale by the call's duration. */
  readonly readClock: () => Clock;
  /** Read the timers' finished runs from the journal, starting here; undefined: don't. */
  readonly journal?: { readonly run: RunJournalctl; readonly from: JournalFrom };
  /** Told how many units this tick reads, before it reads their records (tuning.ts for a large tick). */
  readonly tune?: (units: number) => Promise<void>;
  /** Show only what may have changed since the previous tick's records; undefined: show every unit. */
  readonly cache?: {
    /** The previous tick's records (read once the tick is tuned: a large cache is a large parse). */
    readonly read: () => ShowCache | undefined;
    readonly bootId: string | undefined;
    /** 0: every tick shows every unit. */
    readonly fullShowSeconds: number;
    readonly readInvocations: (ids: readonly string[]) => ReadonlyMap<string, string> | undefined;
  };
}

/** Index show records by every name they answer to (Id and aliases in Names). */
function indexByName(statuses: readonly UnitStatus[]): Map<string, UnitStatus> {
  const byName = new Map<string, UnitStatus>();
  for (const status of statuses) {
    for (const name of [status.id, ...status.names]) if (name !== '' && !byName.has(name)) byName.set(name, status);
  }
  return byName;
}

export async function collect(options: CollectOptions): Promise<Collection> {
  const started = options.readClock().monotonic;
  const problems: string[] = [];

  let listed: ListedUnit[] | undefined;
  try {
    listed = parseListUnitsJson(await options.run(LIST_UNITS_ARGS));
    if (!listed) problems.push('systemctl list-units: output is not the expected JSON array');
  } catch (error) {
    problems.push(`systemctl list-units: ${describeError(error)}`);
  }

  const allowlist = resolveAllowlist(options.patterns, listed);
  const emptyGlobs = options.patterns.filter((p) => isGlob(p) && !allowlist.some((u) => globToRegExp(p).test(u)));
  const allowed = new Set(allowlist);
  const failedListed = (listed ?? []).filter((u) => u.active === 'failed');
  const failedOutside = failedListed.map((u) => u.unit).filter((u) => !allowed.has(u));

  // A timer's job is read in the same show call: by default NAME.service (Unit= is only
  // known from the show output itself).
  const jobs = allowlist.filter((u) => u.endsWith('.timer')).map(defaultService);
  const toShow = [...new Set([...allowlist, ...failedOutside, ...jobs])];
  const always = new Set(failedOutside);
  await options.tune?.(toShow.length);
  const cache = options.cache;
  const previous = cache?.read();
  const plan = planShow(toShow, always, previous, {
    listed: listed && new Map(listed.map((u) => [u.unit, u])),
    invocations: cache?.readInvocations(linkIds(toShow, always, previous)),
    bootId: cache?.bootId,
    ...options.readClock(),
    fullShowSeconds: cache?.fullShowSeconds ?? 0,
    journal: options.journal !== undefined,
  });

  const byName = new Map<string, UnitStatus>();
  const shownNames = new Set<string>();
  let showFailed = false;
  let calls = 0;
  const show = async (names: readonly string[]): Promise<void> => {
    if (names.length === 0 || showFailed) return;
    calls++;
    try {
      const output = await options.run(showArgs(timersLast(names)));
      const now = options.readClock();
      const records = parseShowOutput(output).map((r) => toUnitStatus(r, now.realtime * 1000));
      if (records.length === 0) {
        // Exit 0 and nothing parseable (garbage, or empty): not a host without units, a failed read.
        problems.push(`systemctl show: its output holds none of the ${names.length} unit(s) asked for`);
        showFailed = true;
        return;
      }
      for (const [name, status] of indexByName(records)) byName.set(name, status);
      for (const name of names) shownNames.add(name);
    } catch (error) {
      problems.push(`systemctl show: ${describeError(error)}`);
      showFailed = true;
    }
  };
  // A full show is the tick's only one and comes before the journal: the journal is read up to
  // where the show began, so a job that finished after its timer was read is not seen finished
  // beside a timer still "running" (see timersLast). A partial tick shows again after it instead.
  const fullShowFrom = plan.full ? options.readClock() : undefined;
  await show(plan.full ? toShow : plan.names);
  if (!plan.full && !showFailed) {
    // The others' records are the previous tick's; a unit the show did not answer for stays missing.
    for (const name of toShow) {
      const kept = shownNames.has(name) ? undefined : cachedStatus(plan.cache, name);
      if (kept && !byName.has(name)) byName.set(name, kept);
    }
  }
  const clock = options.readClock();
  let journal: JournalReading | undefined;
  // Every loaded allowlisted unit (failures, reloads, skipped starts) and each timer's job (its runs).
  const loaded = allowlist.filter((name) => byName.get(name)?.loadState === 'loaded');
  const timerJobs = loaded.flatMap((name) => {
    const timer = byName.get(name)?.timer;
    return timer ? [timer.unit ?? defaultService(name)] : [];
  });
  const journalUnits = new Set([...loaded, ...timerJobs]);
  if (options.journal && journalUnits.size > 0) {
    try {
      const out = await options.journal.run(journalArgs([...journalUnits], options.journal.from));
      journal = parseJournalOutput(out.stdout, out.stderr, out.code, fullShowFrom);
    } catch (error) {
      journal = { readable: false, problem: describeError(error), runs: [], capped: false };
    }
  }
  if (!plan.full) {
    await show(showAfterJournal(toShow, shownNames, journal, (name) => byName.get(name)).filter((name) => !always.has(name)));
  }

  const units = allowlist.map((name) => ({ name, status: byName.get(name) }));
  if (!showFailed) for (const { name, status } of units) if (!status) problems.push(`${name}: missing from systemctl show output`);
  const statuses = new Map<string, UnitStatus>();
  for (const { name, status } of units) if (status) statuses.set(name, status);

  const timers: WatchedTimer[] = [];
  for (const { name, status } of units) {
    if (!status?.timer || status.loadState !== 'loaded') continue;
    const service = status.timer.unit ?? defaultService(name);
    timers.push({ name, status, service, serviceStatus: byName.get(service) });
  }
  const bootId = cache?.bootId;
  const kept =
    cache && bootId !== undefined && !showFailed && (!plan.full || plan.keep)
      ? nextCache(toShow, always, byName, bootId, plan.full ? clock.monotonic : plan.cache.fullAt)
      : undefined;
  const showCache = kept && { cache: kept, changed: cacheChanged(previous, kept) };

  const snapshot: Snapshot = {
    host: options.host,
    clock,
    units,
    failedElsewhere: failedOutside.map((name) => ({ name, result: byName.get(name)?.result })),
    failedCount: listed ? failedListed.length : undefined,
    collectSeconds: Math.max(0, clock.monotonic - started),
    errors: problems.length,
  };
  const shown = { units: shownNames.size, calls, full: plan.full ? plan.why : undefined };
  return { snapshot, problems, emptyGlobs, statuses, timers, journal, shown, showCache };
}
