/**
 * The records a tick keeps of the units it did not show again (systemd/changes.ts), in
 * `show-cache.json` beside state.json: written only when a record changed, read back field by
 * field. A record that does not check out is left out, and its unit is shown again; a file that
 * is not a cache at all makes the tick show every unit.
 */
import { join } from 'node:path';
import type { ShowCache } from '../systemd/changes.ts';
import type { TimerStatus, UnitStatus } from '../systemd/unit.ts';
import { ownEntries } from './decode.ts';
import { errno, readProblem, readRegularFile, removeIfExists, writeAtomically } from './store.ts';

export const SHOW_CACHE_FILE = 'show-cache.json';
/** ~400 bytes a unit: 10,000 units are ~4 MB. */
const MAX_BYTES = 32 * 1024 * 1024;

type Fields = Record<string, unknown>;

const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';

/** Each optional field of a record and its type: absent, or of that type. */
const OPTIONAL: ReadonlyArray<readonly [keyof UnitStatus, (v: unknown) => boolean]> = [
  ['result', isString],
  ['nRestarts', isNumber],
  ['execMainStatus', isNumber],
  ['execMainExitMonotonic', isNumber],
  ['inactiveExitMonotonic', isNumber],
  ['inactiveEnterMonotonic', isNumber],
  ['activeExitMonotonic', isNumber],
  ['invocationId', isString],
  ['reloadResult', isString],
  ['conditionMet', isBoolean],
];

const TIMER_OPTIONAL: ReadonlyArray<readonly [keyof TimerStatus, (v: unknown) => boolean]> = [
  ['unit', isString],
  ['lastTriggerRealtime', isNumber],
  ['lastTriggerMonotonic', isNumber],
  ['nextElapseRealtime', isNumber],
  ['nextElapseMonotonic', isNumber],
  ['intervalSeconds', isNumber],
];

const isRecord = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The optional fields of `f` that `spec` names, each absent or of its type; undefined if one is not. */
function optionalFields(f: Fields, spec: ReadonlyArray<readonly [string, (v: unknown) => boolean]>): Fields | undefined {
  const out: Fields = {};
  for (const [key, check] of spec) {
    if (f[key] !== undefined && !check(f[key])) return undefined;
    out[key] = f[key];
  }
  return out;
}

/** A kept record, checked field by field; undefined when any field is not of its type. */
export function decodeUnitStatus(v: unknown): UnitStatus | undefined {
  if (!isRecord(v)) return undefined;
  const f = v;
  if (!isString(f.id) || !isString(f.loadState) || !isString(f.activeState) || !isString(f.subState)) return undefined;
  if (!Array.isArray(f.names) || !f.names.every(isString)) return undefined;
  const fields = optionalFields(f, OPTIONAL);
  if (!fields) return undefined;
  let timer: Fields | undefined;
  if (f.timer !== undefined) {
    timer = isRecord(f.timer) ? optionalFields(f.timer, TIMER_OPTIONAL) : undefined;
    if (!timer) return undefined;
  }
  const status = {
    id: f.id,
    names: [...f.names],
    loadState: f.loadState,
    activeState: f.activeState,
    subState: f.subState,
    ...fields,
    timer,
  };
  return status as unknown as UnitStatus;
}

/** The cache in `parsed`, or undefined when it is not one. */
export function decodeShowCache(parsed: unknown): ShowCache | undefined {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const f = parsed as Fields;
  if (!isString(f.bootId) || !isNumber(f.fullAt)) return undefined;
  return { bootId: f.bootId, fullAt: f.fullAt, statuses: ownEntries(f.statuses, decodeUnitStatus) };
}

/** The cache, or undefined (with why, unless the file is simply absent). */
export function readShowCache(dir: string): { cache: ShowCache | undefined; problem?: string } {
  let text: string;
  try {
    text = readRegularFile(join(dir, SHOW_CACHE_FILE), MAX_BYTES).toString('utf8');
  } catch (error) {
    if (errno(error) === 'ENOENT') return { cache: undefined };
    return { cache: undefined, problem: `${SHOW_CACHE_FILE} unreadable (${readProblem(error)}): every unit is shown` };
  }
  let cache: ShowCache | undefined;
  try {
    cache = decodeShowCache(JSON.parse(text));
  } catch {
    // not JSON
  }
  return cache ? { cache } : { cache: undefined, problem: `${SHOW_CACHE_FILE} is not a cache of shown units: every unit is shown` };
}

export function writeShowCache(dir: string, cache: ShowCache): void {
  writeAtomically(join(dir, SHOW_CACHE_FILE), `${JSON.stringify(cache)}\n`);
}

export function removeShowCache(dir: string): void {
  removeIfExists(join(dir, SHOW_CACHE_FILE));
}
