/**
 * Timers you can trust, on the real stack: three timer-driven jobs (always failing, always
 * succeeding, succeeding twice then failing) run every 2 s in the isolated real systemd 252,
 * the built CLI ticks every few seconds (slower than the jobs) and pushes to a real
 * VictoriaMetrics. Every run a job made is counted once, by result, exactly as the jobs' own
 * counter files say; last result and last success follow.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bootSandbox, sandboxUnavailable, type Sandbox } from './harness/sandbox.ts';
import { CLI, assertBuilt, skipReason } from './support/cli.ts';
import { startVictoria, victoriaUnavailable, type Victoria } from './support/victoria.ts';

const reason = skipReason(sandboxUnavailable() ?? victoriaUnavailable());
const HOST = 'timers-live';
const STATE = '/var/tmp/hb-state';
const TICKS = 6;
const TICK_GAP_MS = 4500;

const job = (name: string, script: string): Record<string, string> => ({
  [`hb-job${name}.service`]: `[Service]\nType=oneshot\nExecStart=/bin/sh -c '${script}'\n`,
  [`hb-job${name}.timer`]: '[Timer]\nOnActiveSec=1s\nOnUnitActiveSec=2s\nAccuracySec=100ms\n',
});
const UNITS = {
  ...job('fail', 'echo run >> /var/tmp/jobfail.count; exit 1'),
  ...job('ok', 'echo run >> /var/tmp/jobok.count'),
  ...job('mixed', 'echo run >> /var/tmp/jobmixed.count; [ $(wc -l < /var/tmp/jobmixed.count) -le 2 ]'),
};
const TIMERS = ['hb-jobfail.timer', 'hb-jobok.timer', 'hb-jobmixed.timer'];

describe('timer jobs counted exactly from the journal, live', { skip: reason }, () => {
  let sb: Sandbox;
  let vm: Victoria;
  before(async () => {
    assertBuilt();
    // bootSandbox has PID 1 log to the journal, where its run-finished entries are read.
    [sb, vm] = await Promise.all([bootSandbox({ extraUnits: UNITS }), startVictoria()]);
  });
  after(async () => {
    await Promise.all([sb?.stop(), vm?.stop()]);
  });

  async function tick(): Promise<void> {
    const r = await sb.exec(
      [process.execPath, CLI, '--host', HOST, '--endpoint', vm.otlpUrl, '-u', 'hb-ok.service', ...TIMERS.flatMap((t) => ['-u', t])],
      { env: { SYSTEMD_HEARTBEAT_STATE_DIR: STATE }, timeoutMs: 30_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', 'a healthy tick is silent');
  }
  async function lines(file: string): Promise<number> {
    const r = await sb.exec(['sh', '-c', `cat ${file} 2>/dev/null | wc -l`]);
    return Number(r.stdout.trim());
  }
  /** The newest value of a series; polls (bounded) until VictoriaMetrics shows `expected` when given. */
  async function latest(selector: string, expected?: number): Promise<number | undefined> {
    const [series] = await vm.exportWhen(selector, ([s]) => expected === undefined || s?.values.at(-1) === expected);
    return series?.values.at(-1);
  }

  test("runs by result match the jobs' own counts; last result and last success follow", async (t) => {
    await tick(); // before the timers start: from here on every run counts
    for (const t of TIMERS) assert.equal((await sb.systemctl(['start', t])).code, 0);
    const perTick: number[] = [];
    for (let i = 0; i < TICKS; i++) {
      await new Promise((r) => setTimeout(r, TICK_GAP_MS));
      await tick();
      perTick.push((await latest(`systemd_timer_runs_total{host="${HOST}",unit="hb-jobok.timer",result="success"}`)) ?? -1);
    }
    // A manual restart: NRestarts does not see it, systemd_unit_starts_total does.
    assert.equal((await sb.systemctl(['restart', 'hb-ok.service'])).code, 0);
    // Let the last runs finish, then one more tick sees them all.
    for (const t of TIMERS) assert.equal((await sb.systemctl(['stop', t])).code, 0);
    await sb.waitFor(
      async () => {
        const r = await sb.systemctl([
          'show',
          '-p',
          'ActiveState',
          '--value',
          'hb-jobfail.service',
          'hb-jobok.service',
          'hb-jobmixed.service',
        ]);
        return !/activating|deactivating/.test(r.stdout);
      },
      'the jobs are idle',
      10_000,
    );
    await tick();

    const ok = await lines('/var/tmp/jobok.count');
    const fail = await lines('/var/tmp/jobfail.count');
    const mixed = await lines('/var/tmp/jobmixed.count');
    t.diagnostic(`job runs: ok ${ok}, fail ${fail}, mixed ${mixed}; ok successes seen per tick: ${perTick.join(' ')}`);
    assert.ok(ok >= 2 * TICKS && fail >= 2 * TICKS && mixed >= 2 * TICKS, `the jobs ran faster than the ticks: ${ok} ${fail} ${mixed}`);
    const runs = (unit: string, result: string, expected: number) =>
      latest(`systemd_timer_runs_total{host="${HOST}",unit="${unit}",result="${result}"}`, expected);
    assert.equal(await runs('hb-jobok.timer', 'success', ok), ok, 'every successful run counted once');
    assert.equal(await runs('hb-jobfail.timer', 'exit-code', fail), fail, 'every failed run counted once');
    assert.equal(await runs('hb-jobfail.timer', 'success', 0), 0);
    assert.equal(await runs('hb-jobmixed.timer', 'success', 2), 2);
    assert.equal(await runs('hb-jobmixed.timer', 'exit-code', mixed - 2), mixed - 2);
    // Several runs happened between two ticks, and none was lost or doubled on the way.
    assert.ok(
      perTick.every((v, i) => i === 0 || v >= (perTick[i - 1] as number)),
      `monotonic: ${perTick}`,
    );
    assert.ok(
      perTick.some((v, i) => i > 0 && v - (perTick[i - 1] as number) >= 2),
      `a tick saw two or more runs at once: ${perTick}`,
    );

    assert.equal(await latest(`systemd_timer_last_result{host="${HOST}",unit="hb-jobfail.timer",result="exit-code"}`, 1), 1);
    assert.equal(await latest(`systemd_timer_last_result{host="${HOST}",unit="hb-jobok.timer",result="success"}`, 1), 1);
    assert.equal(await latest(`systemd_heartbeat_journal_readable{host="${HOST}"}`, 1), 1);

    await vm.flush();
    const [failSuccess] = await vm.exportRaw(`systemd_timer_last_success_timestamp_seconds{host="${HOST}",unit="hb-jobfail.timer"}`);
    assert.equal(failSuccess, undefined, 'a job that never succeeded has no last success');
    const [mixedSuccess] = await vm.exportRaw(`systemd_timer_last_success_timestamp_seconds{host="${HOST}",unit="hb-jobmixed.timer"}`);
    assert.ok(mixedSuccess && mixedSuccess.values.length >= TICKS, 'the mixed job has a last success in every tick after its second run');
    const lastGood = mixedSuccess.values.at(-1) as number;
    assert.ok(
      mixedSuccess.values.slice(-TICKS + 1).every((v) => v === lastGood),
      `stays at the last good run while it fails: ${mixedSuccess.values}`,
    );
    const [okSuccess] = await vm.exportRaw(`systemd_timer_last_success_timestamp_seconds{host="${HOST}",unit="hb-jobok.timer"}`);
    assert.ok(new Set(okSuccess?.values).size >= TICKS, `a healthy job's last success advances: ${okSuccess?.values}`);

    assert.equal(await latest(`systemd_unit_starts_total{host="${HOST}",unit="hb-ok.service"}`, 1), 1, 'the manual restart counted once');
    assert.equal(await latest(`systemd_unit_restart_count_total{host="${HOST}",unit="hb-ok.service"}`, 0), 0, 'NRestarts missed it');

    // Next elapse: in the future while a timer waits; absent once it is stopped.
    await vm.flush();
    const next = await vm.exportRaw(`systemd_timer_next_elapse_timestamp_seconds{host="${HOST}",unit="hb-jobok.timer"}`);
    const [nextSeries] = next;
    assert.ok(nextSeries, 'next elapse was pushed while the timer ran');
    assert.ok(nextSeries.values.length < TICKS + 2, 'and not after it was stopped');
  });
});
