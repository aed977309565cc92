/**
 * Pure: starts that NRestarts misses. Each run compares every unit's InvocationID (and
 * InactiveExitTimestamp) with what the previous run remembered: a change is one start.
 *
 * Across a reboot every unit that starts at boot gets a new InvocationID, so it counts one
 * start; a unit that does not start stays as it was. The first time a unit is seen it
 * counts nothing (its past is unknown), so the counter begins at 0.
 */
import type { UnitStatus } from '../systemd/unit.ts';

export interface UnitMemory {
  readonly invocationId?: string;
  readonly inactiveExit?: number;
  readonly starts: number;
}

export type StartsMemory = Readonly<Record<string, UnitMemory>>;

function started(before: UnitMemory, status: UnitStatus): boolean {
  if (status.invocationId !== undefined && before.invocationId !== undefined) {
    return status.invocationId !== before.invocationId;
  }
  if (status.inactiveExitMonotonic !== undefined && before.inactiveExit !== undefined) {
    return status.inactiveExitMonotonic !== before.inactiveExit;
  }
  // Never started before and now has an invocation: that is a start too.
  return (
    before.invocationId === undefined &&
    before.inactiveExit === undefined &&
    (status.invocationId !== undefined || status.inactiveExitMonotonic !== undefined)
  );
}

/**
 * The memory after this run. Only the units read in this run are kept, so a unit dropped
 * from the allowlist is forgotten (and starts from 0 if it comes back).
 */
export function countStarts(
  previous: StartsMemory,
  units: ReadonlyArray<{ readonly name: string; readonly status: UnitStatus | undefined }>,
): Record<string, UnitMemory> {
  const next: Record<string, UnitMemory> = {};
  for (const { name, status } of units) {
    const before = Object.hasOwn(previous, name) ? previous[name] : undefined;
    if (status?.loadState !== 'loaded') {
      if (before) next[name] = before; // unreadable this run: remember, don't guess
      continue;
    }
    const memory = {
      ...(status.invocationId !== undefined ? { invocationId: status.invocationId } : {}),
      ...(status.inactiveExitMonotonic !== undefined ? { inactiveExit: status.inactiveExitMonotonic } : {}),
    };
    next[name] = { ...memory, starts: before ? before.starts + (started(before, status) ? 1 : 0) : 0 };
  }
  return next;
}
