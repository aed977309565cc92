/**
 * Recorded systemd 252 output scaled to N units, for `npm run bench` and the perf-shape test.
 * Unit i is a copy of the i%7-th record of test/fixtures/seed-252/show-props-all-timestamp-unix.txt
 * (ok, crash loop, oneshot, timer, failed, stale oneshot, stale timer), renamed
 * hb-NNNNN-<name> with its timer's Unit= renamed alike, plus the Names= and InvocationID=
 * lines systemd prints for the properties the tick asks for. list-units JSON lists them with
 * their states, after the fixture's other (non-hb) units. The allowlist is BENCH_PATTERN.
 * journalctl's answer (no recording of it exists yet) is built in the shape `journalctl -o json
 * --output-fields=MESSAGE_ID,UNIT,UNIT_RESULT` prints: per timer job, one successful and one
 * failed run since the last tick.
 */
import { readFileSync } from 'node:fs';
import { createReplay, stripHeader } from '../../test/support/replay.ts';

const FIXTURES = new URL('../../test/fixtures/seed-252/', import.meta.url);

/** The allowlist (SYSTEMD_HEARTBEAT_UNITS) that selects every generated unit. */
export const BENCH_PATTERN = 'hb-*.service,hb-*.timer';

export interface GeneratedUnits {
  /** `systemctl list-units --all --output=json` stdout. */
  readonly listUnits: string;
  /** `systemctl show --timestamp=unix -p ... -- units` stdout. */
  readonly show: string;
  /** `journalctl -o json ...` stdout: the timers' jobs' finished runs. */
  readonly journal: string;
  /** The generated unit names, in generation order. */
  readonly names: readonly string[];
}

const SUCCESS_MESSAGE_ID = '7ad2d189f7e94e70a38c781354912448';
const FAILURE_MESSAGE_ID = 'd9b373ed55a64feb8242e02dbe79a49c';
const BOOT_ID = '3f1c0d9e5b7a4c2e8d6f0a1b2c3d4e5f';

function journalEntry(seq: number, unit: string, id: string, result?: string): string {
  const realtime = 1_795_369_394_000_000 + seq * 1_000_000;
  const cursor = `s=8a5d1e3c2b4f4a6e9c7d0b1a2e3f4c5d;i=${(0x1000 + seq).toString(16)};b=${BOOT_ID};m=${(17_136_532_224 + seq).toString(16)};t=${realtime.toString(16)};x=${(seq * 2_654_435_761).toString(16).padStart(16, '0').slice(-16)}`;
  return JSON.stringify({
    __CURSOR: cursor,
    __REALTIME_TIMESTAMP: String(realtime),
    __MONOTONIC_TIMESTAMP: String(17_136_532_224 + seq),
    _BOOT_ID: BOOT_ID,
    MESSAGE_ID: id,
    UNIT: unit,
    ...(result ? { UNIT_RESULT: result } : {}),
  });
}

function property(block: string, key: string): string {
  const line = block.split('\n').find((l) => l.startsWith(`${key}=`));
  return line === undefined ? '' : line.slice(key.length + 1);
}

export function generateUnits(n: number): GeneratedUnits {
  const blocks = stripHeader(readFileSync(new URL('show-props-all-timestamp-unix.txt', FIXTURES), 'utf8'))
    .trim()
    .split(/\n\n+/);
  const fixtureList = JSON.parse(stripHeader(readFileSync(new URL('list-units-all-output-json.txt', FIXTURES), 'utf8'))) as Array<
    Record<string, string>
  >;
  const others = fixtureList.filter((u) => !(u.unit as string).startsWith('hb-'));
  const listed: Array<Record<string, string>> = [...others];
  const records: string[] = [];
  const names: string[] = [];
  const journal: string[] = [];
  for (let i = 0; i < n; i++) {
    const prefix = `hb-${String(Math.floor(i / blocks.length)).padStart(5, '0')}-`;
    const block = (blocks[i % blocks.length] as string).replace(/^(Id|Unit)=hb-/gm, `$1=${prefix}`);
    const id = property(block, 'Id');
    const ran = property(block, 'ActiveEnterTimestampMonotonic') !== '0' || property(block, 'ExecMainExitTimestampMonotonic') !== '0';
    const invocation = ran ? (i + 1).toString(16).padStart(32, '0') : '';
    records.push(`${block}\nNames=${id}\nInvocationID=${invocation}`);
    names.push(id);
    const job = property(block, 'Unit');
    if (job !== '' && property(block, 'LastTriggerUSecMonotonic') !== '0') {
      journal.push(
        journalEntry(journal.length, job, SUCCESS_MESSAGE_ID),
        journalEntry(journal.length + 1, job, FAILURE_MESSAGE_ID, 'exit-code'),
      );
    }
    listed.push({
      unit: id,
      load: property(block, 'LoadState'),
      active: property(block, 'ActiveState'),
      sub: property(block, 'SubState'),
      description: `bench unit ${i}`,
    });
  }
  return {
    listUnits: `${JSON.stringify(listed)}\n`,
    show: `${records.join('\n\n')}\n`,
    journal: journal.map((line) => `${line}\n`).join(''),
    names,
  };
}

/** N generated units replayed through a fake systemctl and journalctl: the environment that points a tick at them, and each edge's calls. */
export function replaySystemd(n: number): {
  readonly env: Readonly<Record<string, string>>;
  systemctlCalls(): string[][];
  journalCalls(): number;
  remove(): void;
} {
  const replay = createReplay(generateUnits(n));
  const callsOf = (journal: boolean): string[][] => replay.calls().filter((args) => (args[0] === 'journalctl') === journal);
  return {
    env: {
      SYSTEMD_HEARTBEAT_SYSTEMCTL: replay.systemctl,
      SYSTEMD_HEARTBEAT_JOURNALCTL: replay.journalctl,
      SYSTEMD_HEARTBEAT_UNITS: BENCH_PATTERN,
    },
    systemctlCalls: () => callsOf(false),
    journalCalls: () => callsOf(true).length,
    remove: replay.remove,
  };
}
