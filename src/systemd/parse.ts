/**
 * Pure parsers for `systemctl` text. They never throw: odd input gives fewer or emptier
 * records, and the caller reports what it could not find.
 */

/** One `systemctl show` block: property -> every value it had, in output order. */
export type ShowRecord = ReadonlyMap<string, readonly string[]>;

/**
 * `systemctl show` prints one block per unit, blocks separated by a blank line, each line
 * `Key=Value` in systemd's own property order (not the order asked for). Keys may repeat
 * (TimersMonotonic, TimersCalendar); a line without `=` is ignored.
 */
export function parseShowOutput(text: string): ShowRecord[] {
  const records: ShowRecord[] = [];
  let current = new Map<string, string[]>();
  const close = (): void => {
    if (current.size > 0) records.push(current);
    current = new Map();
  };
  for (const rawLine of text.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line === '') {
      close();
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    const values = current.get(key);
    if (values) values.push(value);
    else current.set(key, [value]);
  }
  close();
  return records;
}

/** The first value of a property, or undefined when it is absent. */
export function firstValue(record: ShowRecord, key: string): string | undefined {
  return record.get(key)?.[0];
}

/** A row of `systemctl list-units --output=json`. */
export interface ListedUnit {
  readonly unit: string;
  readonly load: string;
  readonly active: string;
  readonly sub: string;
}

/**
 * `systemctl list-units --output=json` (systemd >= 250). Rows without a string `unit` are
 * dropped; anything that is not a JSON array gives undefined so the caller can report it.
 */
export function parseListUnitsJson(text: string): ListedUnit[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  const rows: ListedUnit[] = [];
  for (const row of parsed as unknown[]) {
    if (typeof row !== 'object' || row === null) continue;
    const r = row as Record<string, unknown>;
    if (typeof r.unit !== 'string' || r.unit === '') continue;
    rows.push({
      unit: r.unit,
      load: typeof r.load === 'string' ? r.load : '',
      active: typeof r.active === 'string' ? r.active : '',
      sub: typeof r.sub === 'string' ? r.sub : '',
    });
  }
  return rows;
}

const UNIT_SECONDS: Record<string, number> = {
  y: 31_557_600,
  month: 2_629_800,
  w: 604_800,
  d: 86_400,
  h: 3_600,
  min: 60,
  s: 1,
  ms: 1e-3,
  us: 1e-6,
};

/**
 * A systemd timespan as printed by format_timespan(): "4h 45min 38.665139s", "2s", "100ms",
 * "1month 2w". `*Monotonic` timer properties print this way in 252, not as microseconds.
 * Returns seconds; undefined for "infinity", empty or unparseable text.
 */
export function parseTimespan(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === 'infinity') return undefined;
  if (/^\d+$/.test(trimmed)) return Number(trimmed) === 0 ? 0 : undefined;
  let total = 0;
  let matched = 0;
  const token = /(\d+(?:\.\d+)?)\s*(month|min|ms|us|y|w|d|h|s)(?![a-z])/g;
  for (const m of trimmed.matchAll(token)) {
    total += Number(m[1]) * (UNIT_SECONDS[m[2] as string] ?? 0);
    matched += m[0].length;
  }
  if (matched === 0 || matched < trimmed.replace(/\s+/g, '').length) return undefined;
  return total;
}

/**
 * A realtime timestamp as `systemctl` prints it: "@1795369389" under --timestamp=unix, or
 * "Sun 2026-11-22 17:43:14 UTC" where --timestamp=unix does not apply (LastTriggerUSec and
 * NextElapseUSecRealtime before systemd 259). systemctl runs with TZ=UTC so the zone is UTC.
 * Returns Unix seconds; undefined for empty, "n/a", "[not set]" or an unknown shape.
 */
export function parseRealtime(text: string): number | undefined {
  const t = text.trim();
  const unix = /^@(\d+(?:\.\d+)?)$/.exec(t);
  if (unix) return Number(unix[1]);
  const human = /^(?:[A-Z][a-z]{2} )?(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d+)? UTC$/.exec(t);
  if (!human) return undefined;
  const [, y, mo, d, h, mi, s, frac] = human;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (!Number.isFinite(ms)) return undefined;
  return ms / 1000 + (frac ? Number(frac) : 0);
}

/** A `*TimestampMonotonic` value in microseconds; 0 means "never" and gives undefined. */
export function parseMonotonicUs(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  const us = Number(text);
  return us > 0 && Number.isSafeInteger(us) ? us : undefined;
}

/** An unsigned integer property (NRestarts, ExecMainStatus); undefined when not a number. */
export function parseCount(text: string | undefined): number | undefined {
  if (text === undefined || !/^-?\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** One `{ Key=Value ; next_elapse=... }` entry of TimersMonotonic / TimersCalendar. */
export interface TimerEntry {
  readonly base: string;
  readonly value: string;
  readonly nextElapse: string | undefined;
}

/**
 * TimersMonotonic={ OnUnitActiveUSec=2s ; next_elapse=4h 45min 38.665139s }
 * TimersCalendar={ OnCalendar=2099-01-01 00:00:00 UTC ; next_elapse=@4070908800 }
 */
export function parseTimerEntry(text: string): TimerEntry | undefined {
  const m = /^\{\s*([A-Za-z]+)=(.*?)\s*;\s*next_elapse=(.*?)\s*\}$/.exec(text.trim());
  if (!m) return undefined;
  return { base: m[1] as string, value: m[2] as string, nextElapse: m[3] === '' ? undefined : m[3] };
}
