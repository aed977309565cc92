/**
 * Edge: what a tick reads of systemd without asking PID 1. systemd 252 links
 * /run/systemd/units/invocation:UNIT to the unit's InvocationID while it is active or
 * activating (unit_export_invocation_id(); the directory is 0755, the links readable by any
 * user, measured in the isolated sandbox), and the kernel's boot id tells whether monotonic
 * times kept from a previous tick are of this boot.
 */
import { readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** PID 1's runtime directory of unit links. */
export const SYSTEM_UNITS_DIR = '/run/systemd/units';

const INVOCATION_ID = /^[0-9a-f]{32}$/;

/**
 * The InvocationID links of `ids` in `dir`: a unit without one is not in the map; undefined
 * when the directory or a link cannot be read (then nothing the links would tell is trusted).
 */
export function readInvocations(dir: string, ids: readonly string[]): ReadonlyMap<string, string> | undefined {
  try {
    if (!statSync(dir).isDirectory()) return undefined;
  } catch {
    return undefined;
  }
  const links = new Map<string, string>();
  for (const id of ids) {
    if (id.includes('/')) return undefined;
    let target: string;
    try {
      target = readlinkSync(join(dir, `invocation:${id}`));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      return undefined;
    }
    if (!INVOCATION_ID.test(target)) return undefined;
    links.set(id, target);
  }
  return links;
}

/** /proc/sys/kernel/random/boot_id, or undefined when it cannot be read. */
export function readBootId(path = '/proc/sys/kernel/random/boot_id'): string | undefined {
  try {
    const id = readFileSync(path, 'utf8').trim();
    return id === '' ? undefined : id;
  } catch {
    return undefined;
  }
}
