/**
 * The latest result, live (issue 17): in the isolated real systemd 252, a job that runs longer
 * than the gap between ticks (so it is running at nearly every tick) and a quick one whose
 * result alternates. At every tick, the exporter's last result is the Result of the latest run
 * that finished before the tick, as the jobs' own logs say. And a job that runs every second
 * and finished half a second before the very first tick is not counted by it. And a job that
 * runs every 120 ms, so that ticks often read it while it runs or finishes: no push has its
 * timer "running" beside a success of its job after the timer's last trigger (which is what a
 * RemainAfterExit=yes job stuck active looks like, SystemdTimerWillNotFire job-remains-active).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bootSandbox, sandboxUnavailable, type Sandbox } from './harness/sandbox.ts';
import { CLI, assertBuilt, skipReason } from './support/cli.ts';
import { startVictoria, victoriaUnavailable, type Victoria } from './support/victoria.ts';

const reason = skipReason(sandboxUnavailable() ?? victoriaUnavailable());
const HOST = 'timers-result-live';
const TICKS = 6;
const TICK_GAP_MS = 2500;

/** A job script: counts its runs, optionally sleeps, logs "<end time> <exit code>" and exits with it. */
const script = (name: string, sleep: number | string, exit: string): string =>
  `n=$(($(cat /var/tmp/${name}.n 2>/dev/null || echo 0) + 1)); echo $n > /var/tmp/${name}.n; sleep ${sleep}; r=${exit}; echo "$(date +%s.%N) $r" >> /var/tmp/${name}.log; exit $r\n`;
/** Sleeps until 50 ms past the next whole second: the run then ends early in a second whatever
 * the timer's phase (which systemd's coalescing moves from run to run). `1$ns` keeps a leading 0
 * of %N from reading as octal. */
const TO_NEXT_SECOND = 'ns=$(date +%N); ms=$((1050 - (1$ns - 1000000000) / 1000000)); printf "%d.%03d" $((ms / 1000)) $((ms % 1000))';
const SCRIPTS: Record<string, string> = {
  long: script('long', 3, '$((n % 2))'),
  alt: script('alt', 0, '$((n % 2))'),
  sec: script('sec', `$(${TO_NEXT_SECOND})`, '0'),
};
const unit = (name: string, timer: string): Record<string, string> => ({
  [`hb-${name}.service`]: `[Service]\nType=oneshot\nExecStart=/bin/sh /var/tmp/${name}.sh\n`,
  [`hb-${name}.timer`]: `[Timer]\nAccuracySec=50ms\n${timer}`,
});
const UNITS = {
  // Starts again 200 ms after each 3 s run ends: running at almost every tick.
  ...unit('long', 'OnActiveSec=500ms\nOnUnitInactiveSec=200ms\n'),
  ...unit('alt', 'OnActiveSec=1s\nOnUnitActiveSec=1300ms\n'),
  ...unit('sec', 'OnActiveSec=1s\nOnUnitActiveSec=1s\n'),
  'hb-fast.service': '[Unit]\nStartLimitIntervalSec=0\n[Service]\nType=oneshot\nExecStart=/bin/sleep 0.004\n',
  'hb-fast.timer': '[Timer]\nOnActiveSec=100ms\nOnUnitActiveSec=120ms\nAccuracySec=1ms\n',
};
/** Ticks of the fast job's test: in batches, until enough pushes caught its timer running. */
const RACE_BATCH = 20;
const RACE_MAX_TICKS = 200;
const RACE_RUNNING_WANTED = 5;

interface Ended {
  readonly at: number;
  readonly result: string;
}

describe('the latest finished run gives the last result, live', { skip: reason }, () => {
  let sb: Sandbox;
  let vm: Victoria;
  before(async () => {
    assertBuilt();
    [sb, vm] = await Promise.all([bootSandbox({ extraUnits: UNITS }), startVictoria()]);
    for (const [name, text] of Object.entries(SCRIPTS)) await sb.writeFile(`/var/tmp/${name}.sh`, text, 0o755);
  });
  after(async () => {
    await Promise.all([sb?.stop(), vm?.stop()]);
  });

  /** One tick with its own state directory; returns when it started and ended (Unix seconds). */
  async function tick(state: string, timers: readonly string[]): Promise<{ start: number; end: number }> {
    const start = Date.now() / 1000;
    const r = await sb.exec([process.execPath, CLI, '--host', HOST, '--endpoint', vm.otlpUrl, ...timers.flatMap((t) => ['-u', t])], {
      env: { SYSTEMD_HEARTBEAT_STATE_DIR: state },
      timeoutMs: 30_000,
    });
    assert.equal(r.code, 0, r.stderr);
    return { start, end: Date.now() / 1000 };
  }
  async function ended(name: string): Promise<Ended[]> {
    const r = await sb.exec(['sh', '-c', `cat /var/tmp/${name}.log 2>/dev/null || true`]);
    return r.stdout
      .trim()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        const [at, code] = l.split(' ');
        return { at: Number(at), result: code === '0' ? 'success' : 'exit-code' };
      });
  }
  async function memory(state: string): Promise<Record<string, { lastResult?: string; runs: Record<string, number> }>> {
    const r = await sb.exec(['cat', `${state}/state.json`]);
    return JSON.parse(r.stdout).timers;
  }

  test('at every tick, the Result of the latest run that finished before it: a job longer than the tick gap, and one whose result alternates', async (t) => {
    const state = '/var/tmp/hb-state-result';
    const timers = ['hb-long.timer', 'hb-alt.timer'];
    await tick(state, timers); // the exporter runs before the jobs do: it knows every run
    for (const timer of timers) assert.equal((await sb.systemctl(['start', timer])).code, 0);
    await new Promise((r) => setTimeout(r, 4000)); // both have finished runs
    const seen: Record<string, string[]> = { long: [], alt: [] };
    for (let i = 0; i < TICKS; i++) {
      const { start, end } = await tick(state, timers);
      const mem = await memory(state);
      for (const name of ['long', 'alt'] as const) {
        const runs = await ended(name);
        const before = runs.filter((r) => r.at < start - 0.2).at(-1);
        // A run that ended while the tick ran may or may not be in it: either answer is right.
        const during = runs.filter((r) => r.at >= start - 0.2 && r.at <= end).map((r) => r.result);
        const got = mem[`hb-${name}.timer`]?.lastResult;
        assert.ok(before, `${name}: a run finished before tick ${i}`);
        assert.ok(
          got === before.result || during.includes(got ?? ''),
          `${name}, tick ${i}: last result ${got}, the latest run before it ${before.result} (during: ${during.join(',')})`,
        );
        seen[name]?.push(got ?? '');
      }
      await new Promise((r) => setTimeout(r, TICK_GAP_MS));
    }
    for (const timer of timers) assert.equal((await sb.systemctl(['stop', timer])).code, 0);
    t.diagnostic(`last results per tick: long ${seen.long?.join(' ')}; alt ${seen.alt?.join(' ')}`);
    // The test means something only if the results changed under it.
    for (const name of ['long', 'alt']) assert.equal(new Set(seen[name]).size, 2, `${name} alternated: ${seen[name]?.join(' ')}`);
    const pushed = await vm.exportWhen(`systemd_timer_last_result{host="${HOST}",unit="hb-long.timer"}`, (s) => s.length > 0);
    assert.ok(pushed.length > 0, 'the last result is pushed');
  });

  test('a job running every second that finished half a second before the first tick is not counted by it', async (t) => {
    // Tick about 0.4 s after a run ended, in the same whole second (a --since of whole seconds
    // would count that run). Each run ends 50 ms past a whole second: wait for a new one, tick,
    // and try again with a fresh state if the tick slipped into the next second (bounded).
    const waitForRun =
      'n=$(cat /var/tmp/sec.log 2>/dev/null | wc -l); i=0; while [ $i -lt 400 ] && [ "$(cat /var/tmp/sec.log 2>/dev/null | wc -l)" -eq "$n" ]; do sleep 0.01; i=$((i + 1)); done';
    assert.equal((await sb.systemctl(['start', 'hb-sec.timer'])).code, 0);
    let state = '';
    let first = { start: 0, end: 0 };
    let last: Ended | undefined;
    for (let attempt = 0; attempt < 4 && (last === undefined || Math.floor(first.start) !== Math.floor(last.at)); attempt++) {
      state = `/var/tmp/hb-state-first-${attempt}`;
      await sb.exec(['sh', '-c', waitForRun], { timeoutMs: 10_000 });
      last = (await ended('sec')).at(-1);
      assert.ok(last, 'a run ended within 4 s');
      assert.ok(last.at % 1 < 0.3, `the run ended early in its second: ${last.at}`);
      await new Promise((r) => setTimeout(r, Math.max(0, (last?.at ?? 0) * 1000 + 400 - Date.now())));
      first = await tick(state, ['hb-sec.timer']);
    }
    assert.ok(
      last && Math.floor(first.start) === Math.floor(last.at),
      `a tick started in the second a run ended in: ${last?.at} ${first.start}`,
    );
    t.diagnostic(`a run ended at ${last.at.toFixed(3)}, the first tick started at ${first.start.toFixed(3)}`);
    const counted = Object.values((await memory(state))['hb-sec.timer']?.runs ?? {}).reduce((a, b) => a + b, 0);
    const during = (await ended('sec')).filter((r) => r.at >= first.start && r.at <= first.end).length;
    assert.ok(counted <= during, `the first tick counted ${counted} run(s); only ${during} ended while it ran`);
    // And from then on every run counts once.
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal((await sb.systemctl(['stop', 'hb-sec.timer'])).code, 0);
    await new Promise((r) => setTimeout(r, 500));
    await tick(state, ['hb-sec.timer']);
    const total = (await memory(state))['hb-sec.timer']?.runs.success;
    assert.equal(total, (await ended('sec')).filter((r) => r.at >= first.start).length, 'every run since the first tick, once');
  });

  test('a job that runs every 120 ms: no push has its timer running beside a later success of its job', async (t) => {
    // Every tick shows every unit (the show before the journal, with no show after it) or only
    // what changed (a second show after the journal): both orders of reading are exercised.
    const host = 'timers-race-live';
    assert.equal((await sb.systemctl(['start', 'hb-fast.timer'])).code, 0);
    const samples = async (metric: string, extra = ''): Promise<Map<number, number>> => {
      const byTime = new Map<number, number>();
      for (const s of await vm.exportRaw(`${metric}{host="${host}",unit="hb-fast.timer"${extra}}`)) {
        for (const [i, at] of s.timestamps.entries()) byTime.set(at, s.values[i] as number);
      }
      return byTime;
    };
    let ticks = 0;
    let running: number[] = [];
    let inconsistent: string[] = [];
    while (ticks < RACE_MAX_TICKS && running.length < RACE_RUNNING_WANTED) {
      // Batch by batch: a tick with 0 keeps no records, so the next one would show every unit too.
      const fullShowSeconds = (ticks / RACE_BATCH) % 2 === 0 ? '0' : '300';
      for (let i = 0; i < RACE_BATCH; i++, ticks++) {
        const r = await sb.exec(
          [process.execPath, CLI, '--host', host, '--endpoint', vm.otlpUrl, '-u', 'hb-fast.timer', '-u', 'hb-ok.service'],
          {
            env: { SYSTEMD_HEARTBEAT_STATE_DIR: '/var/tmp/hb-state-race', SYSTEMD_HEARTBEAT_FULL_SHOW_SECONDS: fullShowSeconds },
            timeoutMs: 30_000,
          },
        );
        assert.equal(r.code, 0, r.stderr);
      }
      await vm.flush();
      const active = await samples('systemd_unit_active', ',sub_state="running"');
      const success = await samples('systemd_timer_last_success_timestamp_seconds');
      const trigger = await samples('systemd_timer_last_trigger_timestamp_seconds');
      running = [...active].filter(([, v]) => v === 1).map(([at]) => at);
      inconsistent = running
        .filter((at) => (success.get(at) ?? 0) > (trigger.get(at) ?? Number.POSITIVE_INFINITY))
        .map((at) => `at ${at}: last success ${success.get(at)}, last trigger ${trigger.get(at)}`);
    }
    assert.equal((await sb.systemctl(['stop', 'hb-fast.timer'])).code, 0);
    t.diagnostic(`${ticks} ticks, ${running.length} pushes with the timer running`);
    assert.deepEqual(inconsistent, [], 'a running timer beside a success of its job after its last trigger');
    // The test means something only if ticks did catch the job running.
    assert.ok(running.length > 0, `no tick of ${ticks} caught hb-fast.timer running`);
  });
});
