/**
 * No gaps after an outage, against a real VictoriaMetrics: runs that could not be pushed are
 * spooled and arrive later with their original timestamps; limits and corruption are handled.
 * The systemctl edge replays recorded systemd 252 output.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli, skipReason } from './support/cli.ts';
import { createReplay, type Replay } from './support/replay.ts';
import { startVictoria, victoriaUnavailable, type Victoria } from './support/victoria.ts';

const seed = (name: string): string => readFileSync(new URL(`fixtures/seed-252/${name}`, import.meta.url), 'utf8');
const TIMEOUT_MS = 3000;

describe('spool: an outage leaves no gap', { skip: skipReason(victoriaUnavailable()) }, () => {
  let vm: Victoria;
  let replay: Replay;
  const dirs: string[] = [];
  before(async () => {
    replay = createReplay({ listUnits: seed('list-units-all-output-json.txt'), show: seed('show-props-all-timestamp-unix.txt') });
    vm = await startVictoria();
  });
  after(async () => {
    await vm?.stop();
    replay?.remove();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  function stateDir(): string {
    const d = mkdtempSync(join(tmpdir(), 'heartbeat-spool-test-'));
    dirs.push(d);
    return d;
  }
  const run = (host: string, state: string, extra: Record<string, string> = {}) =>
    runCli(['--host', host, '-u', 'hb-ok.service', '-u', 'hb-crashloop.service', '--timeout', `${TIMEOUT_MS}ms`], {
      SYSTEMD_HEARTBEAT_SYSTEMCTL: replay.systemctl,
      SYSTEMD_HEARTBEAT_STATE_DIR: state,
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: vm.otlpUrl,
      ...extra,
    });
  const spooled = (state: string): string[] => readdirSync(join(state, 'spool'));
  /**
   * The heartbeat samples stored for the host, once `expected` are visible (bounded wait):
   * VictoriaMetrics 1.112 sometimes makes an answered push searchable only ~1 s later.
   */
  async function heartbeats(host: string, expected: number): Promise<Array<[number, number]>> {
    const [series] = await vm.exportWhen(
      `systemd_heartbeat_last_run_timestamp_seconds{host="${host}"}`,
      ([s]) => (s?.values.length ?? 0) >= expected,
    );
    return (series?.timestamps ?? []).map((t, j) => [t, series?.values[j] as number]);
  }

  test('runs during an outage arrive after it with their original timestamps; the spool empties', async () => {
    const state = stateDir();
    await vm.halt();
    const failedAt: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const r = await run('outage', state);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
      assert.match(
        r.stderr,
        new RegExp(`push to ${vm.otlpUrl.replace(/[/.]/g, '\\$&')} failed: .*ECONNREFUSED.*kept in .*\\(${i + 1} waiting\\)`),
      );
      assert.ok(r.ms < TIMEOUT_MS + 5000, `bounded: ${r.ms} ms`);
      failedAt.push(started);
    }
    assert.equal(spooled(state).length, 3);
    await vm.resume();
    const ok = await run('outage', state);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /pushed 3 earlier run\(s\) after this one/);
    assert.deepEqual(spooled(state), [], 'the spool is empty');
    const samples = await heartbeats('outage', 4);
    assert.equal(samples.length, 4, 'three spooled runs and the current one');
    samples.forEach(([timestampMs, value], i) => {
      // The heartbeat's value is its collection time: the sample carries it as its timestamp.
      assert.ok(Math.abs(timestampMs - value * 1000) < 2, `sample ${i} stamped with its own collection time`);
      if (i < 3)
        assert.ok(
          timestampMs >= (failedAt[i] as number) && timestampMs < (failedAt[i] as number) + TIMEOUT_MS,
          `sample ${i} is from the outage`,
        );
    });
    // The spool's own gauge said 3 waiting in the run that replayed them.
    const waiting = await vm.exportRaw('systemd_heartbeat_spooled_runs{host="outage"}');
    assert.deepEqual(waiting[0]?.values, [0, 1, 2, 3]);
  });

  test('limits: the oldest runs beyond the size bound are dropped, counted and logged', async () => {
    const state = stateDir();
    await vm.halt();
    for (let i = 0; i < 3; i++) assert.equal((await run('limits', state)).code, 1);
    await vm.resume();
    const sizes = spooled(state).map((f) => readFileSync(join(state, 'spool', f)).length);
    // Room for one run only: the two oldest go.
    const r = await run('limits', state, { SYSTEMD_HEARTBEAT_SPOOL_MAX_BYTES: String(Math.max(...sizes) + 10) });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /spool: dropped 2 unsent run\(s\) from .* \(spool over \d+ bytes\)/);
    assert.match(r.stderr, /pushed 1 earlier run\(s\)/);
    assert.equal((await heartbeats('limits', 2)).length, 2, 'the newest spooled run and the current one');
    await vm.flush();
    const dropped = await vm.query('systemd_heartbeat_spool_dropped_runs_total{host="limits"}', Date.now() + 2000);
    assert.deepEqual(
      dropped.map((s) => s.value),
      [2],
    );
  });

  test('a torn or corrupt spool file is skipped and reported; the rest arrives', async () => {
    const state = stateDir();
    await vm.halt();
    for (let i = 0; i < 2; i++) assert.equal((await run('corrupt', state)).code, 1);
    await vm.resume();
    const [first, second] = spooled(state);
    const path = join(state, 'spool', first as string);
    writeFileSync(path, readFileSync(path).subarray(0, 40)); // torn mid-write
    writeFileSync(join(state, 'spool', '.tmp-run-old'), 'half'); // a crash's leftover, too new to judge
    const r = await run('corrupt', state);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`spool: dropped 1 earlier run\\(s\\) that are not readable runs: ${first}: torn: 28 of \\d+ payload bytes`),
    );
    assert.deepEqual(spooled(state), ['.tmp-run-old'], 'the torn file is gone; an in-flight temporary file is left alone');
    assert.ok(second);
    assert.equal((await heartbeats('corrupt', 2)).length, 2, 'the good spooled run and the current one');
  });

  test('runs at the same time (a manual run during a timer run) neither corrupt nor lose the spool', async () => {
    const state = stateDir();
    await vm.halt();
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all([run('concurrent', state), run('concurrent', state)]);
      for (const r of results) assert.equal(r.code, 1, r.stderr);
    }
    assert.equal(spooled(state).length, 6, 'each run spooled under its own name');
    await vm.resume();
    const [a, b] = await Promise.all([run('concurrent', state), run('concurrent', state)]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    // One of the two held the lock and replayed; if the other finished first it left the backlog.
    const last = await run('concurrent', state);
    assert.equal(last.code, 0, last.stderr);
    assert.deepEqual(spooled(state), []);
    assert.equal((await heartbeats('concurrent', 9)).length, 9, 'six spooled runs and three pushed directly, none lost or doubled');
    assert.doesNotMatch(a.stderr + b.stderr + last.stderr, /dropped|torn|corrupt/);
  });

  test('a run that cannot use its state directory still pushes, and says what it cannot keep', async () => {
    const r = await run('nostate', '/proc/heartbeat-cannot-create-this');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /state directory \/proc\/heartbeat-cannot-create-this unusable .*a failed push loses its run/);
    assert.equal((await heartbeats('nostate', 1)).length, 1);
  });
});
