/** The state directory's pure parts (framing, start counting, limits) and its lock. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { crc32, decodeFrame, encodeFrame } from '../src/state/frame.ts';
import { countStarts } from '../src/state/starts.ts';
import { Spool, overLimits } from '../src/export/spool.ts';
import { StateDir } from '../src/state/store.ts';
import type { UnitStatus } from '../src/systemd/unit.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'heartbeat-state-test-'));
  dirs.push(d);
  return d;
}

test('crc32 is the IEEE CRC zlib computes', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.equal(crc32(Buffer.alloc(0)), 0);
});

test('a frame round-trips; torn, foreign and bit-flipped bytes are told apart', () => {
  const frame = encodeFrame('{"collectedAt":1,"observations":[]}');
  assert.deepEqual(decodeFrame(frame), { payload: '{"collectedAt":1,"observations":[]}' });
  assert.match((decodeFrame(frame.subarray(0, 5)) as { error: string }).error, /^torn: 5 bytes/);
  assert.match((decodeFrame(frame.subarray(0, frame.length - 3)) as { error: string }).error, /^torn: \d+ of \d+ payload bytes/);
  assert.match((decodeFrame(Buffer.from('garbage garbage garbage')) as { error: string }).error, /bad magic/);
  const flipped = Buffer.from(frame);
  const at = flipped.length - 2;
  flipped.writeUInt8(flipped.readUInt8(at) ^ 0x01, at);
  assert.match((decodeFrame(flipped) as { error: string }).error, /checksum mismatch/);
});

function status(over: Partial<UnitStatus>): UnitStatus {
  return {
    id: 'a.service',
    names: ['a.service'],
    loadState: 'loaded',
    activeState: 'active',
    subState: 'running',
    result: 'success',
    nRestarts: 0,
    execMainStatus: 0,
    execMainExitMonotonic: undefined,
    inactiveExitMonotonic: undefined,
    activeExitMonotonic: undefined,
    invocationId: undefined,
    timer: undefined,
    ...over,
  };
}

test('starts: a new InvocationID is one start; first sight counts nothing; unreadable units are remembered', () => {
  const seen = (id: string | undefined, inactiveExit?: number) => [
    { name: 'a.service', status: status({ invocationId: id, inactiveExitMonotonic: inactiveExit }) },
  ];
  let memory = countStarts({}, seen('inv1', 10));
  assert.equal(memory['a.service']?.starts, 0, 'first sight: the past is unknown');
  memory = countStarts(memory, seen('inv1', 10));
  assert.equal(memory['a.service']?.starts, 0, 'same invocation: no start');
  memory = countStarts(memory, seen('inv2', 20));
  assert.equal(memory['a.service']?.starts, 1, 'a manual restart NRestarts would not count');
  memory = countStarts(memory, seen(undefined, 30));
  assert.equal(memory['a.service']?.starts, 2, 'without an InvocationID the InactiveExit stamp tells');
  memory = countStarts(memory, [{ name: 'a.service', status: undefined }]);
  assert.equal(memory['a.service']?.starts, 2, 'an unreadable run keeps the count');
  memory = countStarts(memory, [{ name: 'b.service', status: status({ invocationId: 'x' }) }]);
  assert.deepEqual(Object.keys(memory), ['b.service'], 'units no longer allowlisted are forgotten');
  const never = countStarts({}, [{ name: 'c.service', status: status({ activeState: 'inactive' }) }]);
  const then = countStarts(never, [{ name: 'c.service', status: status({ invocationId: 'first' }) }]);
  assert.equal(then['c.service']?.starts, 1, 'the first start of a unit that never ran counts');
});

test('spool limits drop by age first, then the oldest until under the size', () => {
  const entries = [1, 2, 3, 4].map((i) => ({ file: `f${i}`, collectedAtMs: i * 1000, bytes: 100 }));
  const dropped = overLimits(entries, 4500, { maxAgeSeconds: 3, maxBytes: 150 });
  assert.deepEqual(
    dropped.map((d) => [d.entry.file, d.reason.split(' ')[0]]),
    [
      ['f1', 'older'],
      ['f2', 'spool'],
      ['f3', 'spool'],
    ],
  );
  assert.deepEqual(overLimits(entries, 4500, { maxAgeSeconds: 100, maxBytes: 1000 }), []);
});

test('the lock: one holder at a time; a dead holder is taken over', () => {
  const dir = tempDir();
  const a = StateDir.open(dir);
  const b = StateDir.open(dir);
  assert.equal(a.tryLock(), true);
  assert.equal(b.tryLock(), false, 'a live holder keeps it');
  a.unlock();
  assert.equal(b.tryLock(), true);
  b.unlock();
  // A holder that died without unlocking: its pid is gone.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  writeFileSync(join(dir, 'lock'), `${dead.stdout}\n`);
  assert.equal(a.tryLock(), true, 'a lock whose process is gone is stale');
  a.unlock();
});

test('spool files: written whole under a sortable name, read back, corrupt ones reported', () => {
  const dir = new Spool(StateDir.open(tempDir()));
  dir.add({ collectedAt: 2000.5, observations: [{ name: 'systemd_failed_units', labels: { host: 'h' }, value: 1 }] });
  dir.add({ collectedAt: 1000.25, observations: [] });
  const { entries, leftovers } = dir.list();
  assert.deepEqual(
    entries.map((e) => e.collectedAtMs),
    [1_000_250, 2_000_500],
    'oldest first',
  );
  assert.deepEqual(leftovers, []);
  assert.deepEqual(dir.read(entries[1] as (typeof entries)[number]), {
    collectedAt: 2000.5,
    observations: [{ name: 'systemd_failed_units', labels: { host: 'h' }, value: 1 }],
  });
  writeFileSync(join(dir.dir, (entries[0] as (typeof entries)[number]).file), 'SHB1 torn');
  assert.match((dir.read(entries[0] as (typeof entries)[number]) as { error: string }).error, /^torn/);
  assert.equal(readdirSync(dir.dir).filter((f) => f.includes('.tmp-')).length, 0, 'no temporary file left');
});

test('state.json: missing is a first run, garbage starts afresh with a reason', () => {
  const path = tempDir();
  const dir = StateDir.open(path);
  assert.deepEqual(dir.readState(), { state: { units: {}, spoolDropped: 0, timers: {}, journal: {}, failures: {} } });
  const saved = {
    units: { 'a.service': { invocationId: 'x', starts: 3 } },
    spoolDropped: 2,
    timers: { 'j.timer': { service: 'j.service', runs: { success: 4 }, lastSuccess: 5 } },
    journal: { cursor: 's=1' },
    failures: { 'a.service': { failures: { 'exit-code': 2 }, reloads: { failed: 1 }, lastFailure: 7, lastFailureResult: 'exit-code' } },
  };
  dir.writeState(saved);
  assert.deepEqual(dir.readState().state, saved);
  writeFileSync(join(path, 'state.json'), '{"units": {}, "spoolDropped": 1}');
  assert.deepEqual(
    dir.readState().state,
    { units: {}, spoolDropped: 1, timers: {}, journal: {}, failures: {} },
    'an older state file is still read',
  );
  writeFileSync(join(path, 'state.json'), '{"units": [');
  const { state, problem } = dir.readState();
  assert.deepEqual(state, { units: {}, spoolDropped: 0, timers: {}, journal: {}, failures: {} });
  assert.match(problem ?? '', /not a state file, starting afresh/);
});
