/**
 * Recorded systemd 252 output scaled to N units, for `npm run bench` and the perf-shape test.
 * Unit i is a copy of the i%7-th record of test/fixtures/seed-252/show-props-all-timestamp-unix.txt
 * (ok, crash loop, oneshot, timer, failed, stale oneshot, stale timer), renamed
 * hb-NNNNN-<name> with its timer's Unit= renamed alike, plus the Names= and InvocationID=
 * lines systemd prints for the properties the tick asks for. list-units JSON lists them with
 * their states, after the fixture's other (non-hb) units. The allowlist is BENCH_PATTERN.
 */
import { readFileSync } from 'node:fs';

const FIXTURES = new URL('../../test/fixtures/seed-252/', import.meta.url);

/** The allowlist (SYSTEMD_HEARTBEAT_UNITS) that selects every generated unit. */
export const BENCH_PATTERN = 'hb-*.service,hb-*.timer';

export interface GeneratedUnits {
  /** `systemctl list-units --all --output=json` stdout. */
  readonly listUnits: string;
  /** `systemctl show --timestamp=unix -p ... -- units` stdout. */
  readonly show: string;
  /** The generated unit names, in generation order. */
  readonly names: readonly string[];
}

function stripHeader(text: string): string {
  const lines = text.split('\n');
  let i = 0;
  while (i < lines.length && (lines[i] as string).startsWith('#')) i++;
  return lines.slice(i).join('\n');
}

function property(block: string, key: string): string {
  const line = block.split('\n').find((l) => l.startsWith(`${key}=`));
  return line === undefined ? '' : line.slice(key.length + 1);
}

export function generateUnits(n: number): GeneratedUnits {
  const blocks = stripHeader(readFileSync(new URL('show-props-all-timestamp-unix.txt', FIXTURES), 'utf8'))
    .trim()
    .split(/\n\n+/);
  const fixtureList = JSON.parse(
    stripHeader(readFileSync(new URL('list-units-all-output-json.txt', FIXTURES), 'utf8')),
  ) as Array<Record<string, string>>;
  const others = fixtureList.filter((u) => !(u.unit as string).startsWith('hb-'));
  const listed: Array<Record<string, string>> = [...others];
  const records: string[] = [];
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const prefix = `hb-${String(Math.floor(i / blocks.length)).padStart(5, '0')}-`;
    const block = (blocks[i % blocks.length] as string).replace(/^(Id|Unit)=hb-/gm, `$1=${prefix}`);
    const id = property(block, 'Id');
    const ran = property(block, 'ActiveEnterTimestampMonotonic') !== '0' || property(block, 'ExecMainExitTimestampMonotonic') !== '0';
    const invocation = ran ? (i + 1).toString(16).padStart(32, '0') : '';
    records.push(`${block}\nNames=${id}\nInvocationID=${invocation}`);
    names.push(id);
    listed.push({
      unit: id,
      load: property(block, 'LoadState'),
      active: property(block, 'ActiveState'),
      sub: property(block, 'SubState'),
      description: `bench unit ${i}`,
    });
  }
  return { listUnits: JSON.stringify(listed) + '\n', show: records.join('\n\n') + '\n', names };
}
