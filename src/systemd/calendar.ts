/**
 * Pure: systemd's *normalized* calendar specs (as `systemctl show -p TimersCalendar` prints
 * them, e.g. `*-*-* 00:00:00`, `Mon..Fri *-*-* 09:00:00`, `*-*-* *:00/5:00`) -> next elapses.
 *
 * Only what is needed to know how often a timer fires, so that a stale timer can be told
 * from one whose schedule is simply far away. Evaluated in UTC: a trailing time zone is
 * ignored, so a daylight-saving shift of up to an hour is not modelled — the alert's 2x
 * factor absorbs it. `~` (days counted from the end of the month) is supported.
 */

/** One component: allowed values, or undefined for `*` (any). */
type Field = ReadonlySet<number> | undefined;

export interface CalendarSpec {
  weekdays: Field; // 0 = Sunday .. 6 = Saturday, like Date#getUTCDay
  years: Field;
  months: Field; // 1..12
  days: Field; // 1..31
  daysFromEnd: boolean; // `~`: 1 is the last day of the month
  hours: Field;
  minutes: Field;
  seconds: Field; // whole seconds; a fractional part is dropped
}

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const DAY_MS = 86_400_000;
/** How far ahead one elapse is searched for: beyond a leap day's 4-year gap. */
const HORIZON_DAYS = 366 * 5;

function weekday(name: string): number | undefined {
  const index = WEEKDAYS.indexOf(name.slice(0, 3).toLowerCase());
  return index === -1 ? undefined : index;
}

function integer(text: string, min: number, max: number): number | undefined {
  if (!/^\d+(\.\d+)?$/.test(text)) return undefined;
  const value = Math.floor(Number(text));
  return value >= min && value <= max ? value : undefined;
}

/** `*`, `5`, `1,15`, `1..5`, `0/15`, `*\/10`, `8..18/2` -> allowed values within [min, max]. */
function parseField(text: string, min: number, max: number, name = integer): Field | null {
  if (text === '*') return undefined;
  const values = new Set<number>();
  for (const item of text.split(',')) {
    const [range = '', stepText] = item.split('/');
    let step = 1;
    if (stepText !== undefined) {
      const parsed = integer(stepText, 1, max);
      if (parsed === undefined) return null;
      step = parsed;
    }
    let from: number | undefined;
    let to: number | undefined;
    if (range === '*') {
      from = min;
      to = max;
    } else if (range.includes('..')) {
      const [a = '', b = ''] = range.split('..');
      from = name(a, min, max);
      to = name(b, min, max);
    } else {
      from = name(range, min, max);
      to = stepText === undefined ? from : max;
    }
    if (from === undefined || to === undefined || to < from) return null;
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return values;
}

const weekdayName = (text: string): number | undefined => weekday(text);

/** Parses a normalized spec; undefined when it is not one. */
export function parseCalendarSpec(spec: string): CalendarSpec | undefined {
  const tokens = spec.trim().split(/\s+/);
  let weekdays: Field;
  if (tokens[0] !== undefined && /^[A-Za-z]/.test(tokens[0])) {
    const parsed = parseField(tokens.shift() ?? '', 0, 6, weekdayName);
    if (parsed === null) return undefined;
    weekdays = parsed;
  }
  const date = /^([^-~]+)-([^-~]+)([-~])([^-~]+)$/.exec(tokens[0] ?? '');
  const time = /^([^:]+):([^:]+)(?::([^:]+))?$/.exec(tokens[1] ?? '');
  if (!date || !time) return undefined;
  // tokens[2], if any, is a time zone: ignored (see the module comment).
  if (tokens.length > 3) return undefined;
  const fields = [
    parseField(date[1] ?? '', 1970, 9999),
    parseField(date[2] ?? '', 1, 12),
    parseField(date[4] ?? '', 1, 31),
    parseField(time[1] ?? '', 0, 23),
    parseField(time[2] ?? '', 0, 59),
    parseField(time[3] ?? '0', 0, 59),
  ];
  if (fields.some((f) => f === null)) return undefined;
  const [years, months, days, hours, minutes, seconds] = fields as Field[];
  return { weekdays, years, months, days, daysFromEnd: date[3] === '~', hours, minutes, seconds };
}

const matches = (field: Field, value: number): boolean => field === undefined || field.has(value);

function sortedValues(field: Field, min: number, max: number): number[] {
  if (field !== undefined) return [...field].sort((a, b) => a - b);
  return Array.from({ length: max - min + 1 }, (_, i) => min + i);
}

function dayMatches(spec: CalendarSpec, dayStart: Date): boolean {
  const year = dayStart.getUTCFullYear();
  const month = dayStart.getUTCMonth() + 1;
  let day = dayStart.getUTCDate();
  if (spec.daysFromEnd) {
    const length = new Date(Date.UTC(year, month, 0)).getUTCDate();
    day = length - day + 1;
  }
  return (
    matches(spec.years, year) && matches(spec.months, month) && matches(spec.days, day) && matches(spec.weekdays, dayStart.getUTCDay())
  );
}

/** The first elapse strictly after `afterMs` (UTC milliseconds), within five years. */
export function nextElapse(spec: CalendarSpec, afterMs: number): number | undefined {
  const hours = sortedValues(spec.hours, 0, 23);
  const minutes = sortedValues(spec.minutes, 0, 59);
  const seconds = sortedValues(spec.seconds, 0, 59);
  let dayStartMs = Math.floor(afterMs / DAY_MS) * DAY_MS;
  // A one-off date beyond the horizon (OnCalendar=2099-01-01): no day can match, so do not walk them.
  const firstYear = new Date(dayStartMs).getUTCFullYear();
  const lastYear = new Date(dayStartMs + HORIZON_DAYS * DAY_MS).getUTCFullYear();
  if (spec.years && ![...spec.years].some((y) => y >= firstYear && y <= lastYear)) return undefined;
  for (let i = 0; i < HORIZON_DAYS; i++, dayStartMs += DAY_MS) {
    if (!dayMatches(spec, new Date(dayStartMs))) continue;
    for (const h of hours) {
      if (dayStartMs + (h + 1) * 3_600_000 <= afterMs) continue;
      for (const m of minutes) {
        const minuteMs = dayStartMs + h * 3_600_000 + m * 60_000;
        if (minuteMs + 60_000 <= afterMs) continue;
        for (const s of seconds) {
          const at = minuteMs + s * 1000;
          if (at > afterMs) return at;
        }
      }
    }
  }
  return undefined;
}

/**
 * How often the spec fires, in seconds: the LONGEST gap among its next `count` elapses
 * after `afterMs`, so an irregular schedule (weekdays only, a monthly date) is never
 * judged stale in its longest quiet stretch. undefined for a one-off date or a spec that
 * cannot be read.
 */
export function calendarIntervalSeconds(spec: string, afterMs: number, count = 12): number | undefined {
  const parsed = parseCalendarSpec(spec);
  if (!parsed) return undefined;
  let previous = nextElapse(parsed, afterMs);
  if (previous === undefined) return undefined;
  let longest: number | undefined;
  for (let i = 1; i < count; i++) {
    const next = nextElapse(parsed, previous);
    if (next === undefined) break;
    longest = Math.max(longest ?? 0, next - previous);
    previous = next;
  }
  return longest === undefined ? undefined : longest / 1000;
}
