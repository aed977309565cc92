/**
 * Pure: what PID 1 journals about the watched units, read once per tick. systemd 252
 * (../shared/notes/systemd-252-journal.md, measured in the isolated sandbox) writes:
 * - a finished run: 7ad2d189... ("Deactivated successfully") for a success, d9b373ed... with
 *   UNIT_RESULT=exit-code/signal/timeout/start-limit-hit/... for a failure (also each crash
 *   that Restart= recovers within a tick);
 * - a finished reload job: 7b05ebc6... ("Reloaded X." / "Reload failed for X.") with
 *   JOB_TYPE=reload and JOB_RESULT=done/failed/...;
 * - a finished start job: 39f53479... with JOB_TYPE=start, JOB_RESULT=done, and for a start
 *   skipped by an unmet Condition*= the MESSAGE "X was skipped because of an unmet condition
 *   check (...)" (show: ConditionResult=no, Result=success, no InvocationID).
 * One bounded `journalctl` call per tick reads them for every allowlisted unit and timer job,
 * after the cursor the previous tick saved, so nothing is missed or counted twice across
 * ticks, even when a unit fails many times between two ticks (`show` only has the latest).
 */
export const SUCCESS_MESSAGE_ID = '7ad2d189f7e94e70a38c781354912448';
export const FAILURE_MESSAGE_ID = 'd9b373ed55a64feb8242e02dbe79a49c';
export const RELOAD_DONE_MESSAGE_ID = '7b05ebc668384222baa8881179cfda54';
export const START_DONE_MESSAGE_ID = '39f53479d3a045ac8e11786248231fbf';
const SKIPPED = /was skipped because of an unmet condition check/;
/** At most this many entries a tick; journalctl's -n keeps the newest, and the excess is reported. */
export const JOURNAL_CAP = 10_000;

/** Where the previous tick stopped: its cursor, or (no entry seen yet) the time it ran. */
export type JournalFrom = { readonly cursor: string } | { readonly sinceSeconds: number };

export interface JournalRun {
  readonly service: string;
  /** "success", or systemd's UNIT_RESULT (exit-code, signal, core-dump, timeout, ...). */
  readonly result: string;
  /** Unix seconds the run finished. */
  readonly finishedAt: number;
}

/** A finished job of one of PID 1's kinds that is not a run: a reload, or a start skipped by a condition. */
export interface JournalJob {
  readonly unit: string;
  /** reload: JOB_RESULT (done, failed, timeout, ...); skipped starts: "skipped". */
  readonly result: string;
  readonly at: number;
}

export interface JournalReading {
  /** false when the journal could not be read: then runs are counted from InvocationID changes. */
  readonly readable: boolean;
  readonly problem?: string;
  readonly runs: readonly JournalRun[];
  readonly reloads?: readonly JournalJob[];
  readonly skipped?: readonly JournalJob[];
  /** The cursor of the last entry read, to start after next tick; undefined when none was read. */
  readonly cursor?: string;
  /** true when the cap was reached and older entries of this tick were not read. */
  readonly capped: boolean;
  /** Every unit PID 1 journaled one of these entries for: what may have changed since the previous tick. */
  readonly units?: readonly string[];
}

/** Where a read stops (parseJournalOutput): a moment by both clocks, Unix and CLOCK_MONOTONIC seconds. */
export interface JournalUntil {
  readonly realtime: number;
  readonly monotonic: number;
}

/** The units whose entries are read: `units` as given (every allowlisted unit and timer job). */
export function journalArgs(units: readonly string[], from: JournalFrom): string[] {
  return [
    '--system',
    // No --quiet: it would hide the hint that tells an unreadable journal from an empty one.
    '--no-pager',
    '-o',
    'json',
    '--output-fields=MESSAGE_ID,UNIT,UNIT_RESULT,JOB_TYPE,JOB_RESULT,MESSAGE',
    '-n',
    String(JOURNAL_CAP),
    // Sub-second: journalctl 252 takes `--since=@1700000000.5`, so the first tick counts
    // nothing that finished before it started, even within the same second.
    'cursor' in from ? `--after-cursor=${from.cursor}` : `--since=@${from.sinceSeconds.toFixed(6)}`,
    // Different fields AND, the same field ORs: PID 1's messages of these kinds for these units.
    '_PID=1',
    `MESSAGE_ID=${SUCCESS_MESSAGE_ID}`,
    `MESSAGE_ID=${FAILURE_MESSAGE_ID}`,
    `MESSAGE_ID=${RELOAD_DONE_MESSAGE_ID}`,
    `MESSAGE_ID=${START_DONE_MESSAGE_ID}`,
    ...units.map((u) => `UNIT=${u}`),
  ];
}

const RESULT = /^[a-z][a-z0-9-]{0,31}$/;

/** What journalctl says on stderr when this user may not read the system journal. */
const UNREADABLE = [
  /not seeing messages from other users and the system/i,
  /insufficient permissions/i,
  /no journal files were (found|opened)/i,
];

function field(entry: Record<string, unknown>, key: string): string | undefined {
  const value = entry[key];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Never throws: lines that are not entries of ours are skipped. `until` (both clocks, in
 * seconds): the read stops before the first entry that both its clocks (__REALTIME_TIMESTAMP,
 * __MONOTONIC_TIMESTAMP, which journalctl 252 prints with -o json whatever --output-fields
 * asks) stamp later, and its cursor is the entry before: the next tick reads that entry and
 * what follows, so nothing is lost, only counted a tick later. Both, so that a wall-clock step
 * or an entry of an earlier boot does not hold the read back.
 */
export function parseJournalOutput(stdout: string, stderr: string, code = 0, until?: JournalUntil): JournalReading {
  const denied = UNREADABLE.find((re) => re.test(stderr));
  if (denied || code !== 0) {
    const line = (denied ? stderr.split('\n').find((l) => denied.test(l)) : stderr.split('\n').find((l) => l.trim() !== ''))?.trim();
    return { readable: false, problem: line || `journalctl exited with ${code}`, runs: [], capped: false };
  }
  const runs: JournalRun[] = [];
  const reloads: JournalJob[] = [];
  const skipped: JournalJob[] = [];
  const units = new Set<string>();
  let cursor: string | undefined;
  let entries = 0;
  let stopped = false;
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof entry !== 'object' || entry === null) continue;
    const record = entry as Record<string, unknown>;
    entries++;
    const micros = Number(field(record, '__REALTIME_TIMESTAMP'));
    // Still counted in `entries`: the cap is about what journalctl returned.
    stopped ||=
      until !== undefined && micros / 1e6 > until.realtime && Number(field(record, '__MONOTONIC_TIMESTAMP')) / 1e6 > until.monotonic;
    if (stopped) continue;
    cursor = field(record, '__CURSOR') ?? cursor;
    const unit = field(record, 'UNIT');
    const id = field(record, 'MESSAGE_ID');
    if (unit) units.add(unit);
    if (!unit || !Number.isFinite(micros)) continue;
    const at = micros / 1e6;
    if (id === RELOAD_DONE_MESSAGE_ID) {
      const result = field(record, 'JOB_RESULT');
      if (field(record, 'JOB_TYPE') === 'reload' && result && RESULT.test(result)) reloads.push({ unit, result, at });
      continue;
    }
    if (id === START_DONE_MESSAGE_ID) {
      if (field(record, 'JOB_TYPE') === 'start' && SKIPPED.test(field(record, 'MESSAGE') ?? ''))
        skipped.push({ unit, result: 'skipped', at });
      continue;
    }
    const result = id === SUCCESS_MESSAGE_ID ? 'success' : id === FAILURE_MESSAGE_ID ? field(record, 'UNIT_RESULT') : undefined;
    // systemd's results are lower-case words (exit-code, core-dump): anything else is not PID 1's.
    if (result && RESULT.test(result)) runs.push({ service: unit, result, finishedAt: at });
  }
  return {
    readable: true,
    runs,
    reloads,
    skipped,
    ...(cursor !== undefined ? { cursor } : {}),
    capped: entries >= JOURNAL_CAP,
    units: [...units],
  };
}
