/**
 * Pure: reading finished runs of timer-driven services from the journal. systemd 252's PID 1
 * writes one entry per finished run: MESSAGE_ID 7ad2d189... ("Deactivated successfully") for
 * a success, d9b373ed... with UNIT_RESULT=exit-code/signal/timeout/... for a failure. One
 * bounded `journalctl` call per tick reads them for all the timers' services, after the
 * cursor the previous tick saved, so no run is missed or counted twice across ticks, even
 * when a job runs many times between two ticks (`systemctl show` only shows the latest).
 */
export const SUCCESS_MESSAGE_ID = '7ad2d189f7e94e70a38c781354912448';
export const FAILURE_MESSAGE_ID = 'd9b373ed55a64feb8242e02dbe79a49c';
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

export interface JournalReading {
  /** false when the journal could not be read: then runs are counted from InvocationID changes. */
  readonly readable: boolean;
  readonly problem?: string;
  readonly runs: readonly JournalRun[];
  /** The cursor of the last entry read, to start after next tick; undefined when none was read. */
  readonly cursor?: string;
  /** true when the cap was reached and older entries of this tick were not read. */
  readonly capped: boolean;
}

export function journalArgs(services: readonly string[], from: JournalFrom): string[] {
  return [
    '--system',
    // No --quiet: it would hide the hint that tells an unreadable journal from an empty one.
    '--no-pager',
    '-o',
    'json',
    '--output-fields=MESSAGE_ID,UNIT,UNIT_RESULT',
    '-n',
    String(JOURNAL_CAP),
    // Sub-second: journalctl 252 takes `--since=@1700000000.5`, so the first tick counts
    // nothing that finished before it started, even within the same second.
    'cursor' in from ? `--after-cursor=${from.cursor}` : `--since=@${from.sinceSeconds.toFixed(6)}`,
    // Different fields AND, the same field ORs: PID 1's run-finished messages for these units.
    '_PID=1',
    `MESSAGE_ID=${SUCCESS_MESSAGE_ID}`,
    `MESSAGE_ID=${FAILURE_MESSAGE_ID}`,
    ...services.map((s) => `UNIT=${s}`),
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

/** Never throws: lines that are not entries of ours are skipped. */
export function parseJournalOutput(stdout: string, stderr: string, code = 0): JournalReading {
  const denied = UNREADABLE.find((re) => re.test(stderr));
  if (denied || code !== 0) {
    const line = (denied ? stderr.split('\n').find((l) => denied.test(l)) : stderr.split('\n').find((l) => l.trim() !== ''))?.trim();
    return { readable: false, problem: line || `journalctl exited with ${code}`, runs: [], capped: false };
  }
  const runs: JournalRun[] = [];
  let cursor: string | undefined;
  let entries = 0;
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
    cursor = field(record, '__CURSOR') ?? cursor;
    const service = field(record, 'UNIT');
    const micros = Number(field(record, '__REALTIME_TIMESTAMP'));
    const id = field(record, 'MESSAGE_ID');
    if (!service || !Number.isFinite(micros)) continue;
    const result = id === SUCCESS_MESSAGE_ID ? 'success' : id === FAILURE_MESSAGE_ID ? field(record, 'UNIT_RESULT') : undefined;
    // systemd's results are lower-case words (exit-code, core-dump): anything else is not PID 1's.
    if (result && RESULT.test(result)) runs.push({ service, result, finishedAt: micros / 1e6 });
  }
  return { readable: true, runs, ...(cursor !== undefined ? { cursor } : {}), capped: entries >= JOURNAL_CAP };
}
