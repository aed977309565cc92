/**
 * Pure: where each tick's journal read starts, and where the next one will. The position is
 * the cursor of the last entry read; before any entry was seen, the time of the first run (the
 * past before the exporter is not counted). While the journal is unreadable, runs are counted
 * from InvocationID changes; once it is readable again, it counts from the last unreadable
 * run on, so no run is counted by both.
 */
import type { JournalFrom, JournalReading } from '../systemd/journal.ts';

/** Where the next journal read starts: after `cursor`, or (no entry seen yet) at `since`. */
export interface JournalPosition {
  readonly cursor?: string;
  readonly since?: number;
  /** Whether the last read could read the journal: a change is logged once, not every tick. */
  readonly readable?: boolean;
}

/**
 * Where this run's read starts. Only the run that will save the new position reads (the lock
 * holder, or a dry run that shows but keeps nothing): two readers would count runs twice.
 */
export function journalFrom(position: JournalPosition, reads: boolean, nowSeconds: number): JournalFrom | undefined {
  if (!reads) return undefined;
  if (position.cursor) return { cursor: position.cursor };
  return { sinceSeconds: position.since ?? nowSeconds };
}

export interface JournalNotice {
  readonly level: 'info' | 'warning';
  readonly message: string;
}

/** The position after this tick's reading, and what changed that the log should say (once). */
export function advanceJournal(
  previous: JournalPosition,
  reading: JournalReading,
  times: {
    /** When this tick started: where its read began when no entry was ever seen. */
    readonly startedAt: number;
    /** When `show` was read: the fallback counted what it saw finished by then. */
    readonly collectedAt: number;
  },
): { position: JournalPosition; notices: JournalNotice[] } {
  const notices: JournalNotice[] = [];
  if (reading.readable !== (previous.readable ?? true)) {
    notices.push(
      reading.readable
        ? { level: 'info', message: "journal readable again: timer jobs' runs are counted from it" }
        : {
            level: 'warning',
            message: `journal not readable (${reading.problem ?? 'unknown'}): timer jobs' runs are counted from InvocationID changes, which misses runs between two ticks`,
          },
    );
  }
  if (reading.capped) {
    notices.push({
      level: 'warning',
      message: 'journal: more finished runs since the last tick than one read takes; the oldest were not counted',
    });
  }
  const position: JournalPosition = reading.readable
    ? reading.cursor !== undefined
      ? { cursor: reading.cursor, readable: true }
      : { ...previous, since: previous.since ?? times.startedAt, readable: true }
    : { since: times.collectedAt, readable: false };
  return { position, notices };
}
