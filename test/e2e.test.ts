/**
 * End to end on the real stack: the BUILT CLI runs inside a real systemd 252 (the isolated
 * sandbox of test/harness) and pushes over OTLP to a real VictoriaMetrics on host loopback; what
 * VictoriaMetrics stored is checked against what `systemctl show` says at that moment.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CLI, assertBuilt, skipReason } from './support/cli.ts';
import { startVictoria, victoriaUnavailable, type Labels, type Victoria } from './support/victoria.ts';
import {
  STALE_TIMER_AGE_SECONDS,
  USER_RUNTIME_DIR,
  bootSandbox,
  sandboxUnavailable,
  type ExecResult,
  type Sandbox,
} from './harness/sandbox.ts';

const reason = skipReason(sandboxUnavailable() ?? victoriaUnavailable());

const HOST = 'e2e';
const USER_HOST = 'e2e-user';
const ESCAPED = 'hb-inst@a\\x2db.service';
const ALLOWLIST = ['hb-*.service', 'hb-*.timer', 'hb-missing.service', 'hb-masked.service', ESCAPED];

interface Stored {
  readonly metric: Labels;
  /** the newest sample */
  readonly value: number;
}

describe('exporter end to end: real systemd 252 -> built CLI -> real VictoriaMetrics', { skip: reason }, () => {
  let sb: Sandbox;
  let vm: Victoria;

  before(async () => {
    assertBuilt();
    [sb, vm] = await Promise.all([bootSandbox(), startVictoria()]);
    await sb.startUserManager();
  });
  after(async () => {
    await Promise.all([sb?.stop(), vm?.stop()]);
  });

  async function rowsInserted(): Promise<number> {
    const text = await (await fetch(`${vm.url}/metrics`)).text();
    const m = /^vm_rows_inserted_total\{type="opentelemetry"\} (\d+)$/m.exec(text);
    assert.ok(m, 'VictoriaMetrics reports vm_rows_inserted_total{type="opentelemetry"}');
    return Number(m[1]);
  }

  /**
   * Runs the shipped bundle inside the sandbox the way a unit would (clean environment), then
   * waits (bounded) until every sample it pushed is searchable. Measured here with VictoriaMetrics
   * 1.112: right after the push has been answered, both vm_rows_inserted_total and
   * /api/v1/export sometimes lag by up to ~1 s (force_flush does not hurry that), so wait until
   * the counter has moved, holds still across two polls, and export shows that many samples.
   */
  async function runExporter(args: string[], env: Record<string, string> = {}): Promise<ExecResult> {
    const rowsBefore = await rowsInserted();
    const sinceMs = Date.now() - 1;
    const r = await sb.exec([process.execPath, CLI, '--endpoint', vm.otlpUrl, ...args], { env, timeoutMs: 30_000 });
    assert.equal(r.code, 0, `exporter exited ${r.code}: ${r.stderr}`);
    let rows = 0;
    let visible = 0;
    await sb.waitFor(
      async () => {
        const previous = rows;
        rows = (await rowsInserted()) - rowsBefore;
        if (rows === 0 || rows !== previous) return false;
        await vm.flush();
        const all = await vm.exportRaw('{__name__=~".+"}');
        visible = all.reduce((n, s) => n + s.timestamps.filter((t) => t >= sinceMs).length, 0);
        return visible >= rows;
      },
      `the run's samples to be ingested and searchable (rows inserted ${rows}, visible ${visible})`,
      20_000,
    );
    return r;
  }

  async function show(unit: string, props: string[], user = false): Promise<Record<string, string>> {
    const r = await sb.systemctl(['show', '-p', props.join(','), '--', unit], { user });
    assert.equal(r.code, 0, r.stderr);
    // a property with several entries (TimersMonotonic) prints one line per entry: join them
    const out: Record<string, string> = {};
    for (const line of r.stdout.split('\n').filter((l) => l.includes('='))) {
      const key = line.slice(0, line.indexOf('='));
      const value = line.slice(line.indexOf('=') + 1);
      out[key] = key in out ? `${out[key]} ${value}` : value;
    }
    return out;
  }

  async function stored(host: string): Promise<Stored[]> {
    const all = await vm.exportRaw(`{__name__=~"systemd_.*",host="${host}"}`);
    return all.map((s) => {
      let newest = 0;
      for (let i = 1; i < s.timestamps.length; i++) if ((s.timestamps[i] ?? 0) >= (s.timestamps[newest] ?? 0)) newest = i;
      return { metric: s.metric, value: s.values[newest] as number };
    });
  }

  function one(all: Stored[], name: string, labels: Labels): Stored {
    const found = all.filter((s) => s.metric.__name__ === name && Object.entries(labels).every(([k, v]) => s.metric[k] === v));
    assert.equal(found.length, 1, `exactly one ${name}${JSON.stringify(labels)} stored; have ${found.length} (of ${all.length} series)`);
    return found[0] as Stored;
  }

  const nRestarts = async (): Promise<number> => Number((await show('hb-crashloop.service', ['NRestarts'])).NRestarts);

  test('system units: stored values match systemctl show', async () => {
    // Right after boot the crash loop may not have restarted yet (RestartSec=1).
    await sb.waitFor(async () => (await nRestarts()) > 0, 'hb-crashloop.service to restart once', 15_000);
    // It restarts every ~1.2 s: bracket the exporter's read between two of ours.
    const restartsBefore = await nRestarts();
    const failedBefore = (await sb.systemctl(['list-units', '--state=failed', '--plain', '--no-legend'])).stdout
      .trim()
      .split('\n')
      .filter(Boolean).length;
    await runExporter(['--host', HOST, ...ALLOWLIST.flatMap((u) => ['--unit', u])]);
    const restartsAfter = await nRestarts();
    const failedAfter = (await sb.systemctl(['list-units', '--state=failed', '--plain', '--no-legend'])).stdout
      .trim()
      .split('\n')
      .filter(Boolean).length;
    const nowS = Date.now() / 1000;
    const all = await stored(HOST);

    // crash loop
    const restarts = one(all, 'systemd_unit_restart_count_total', { unit: 'hb-crashloop.service' }).value;
    assert.ok(restarts > 0, `restart count ${restarts} > 0`);
    assert.ok(
      restartsBefore <= restarts && restarts <= restartsAfter,
      `stored ${restarts} within systemctl's ${restartsBefore}..${restartsAfter}`,
    );

    // the unit that failed once with exit 3
    const failed = await show('hb-failed.service', ['ActiveState', 'Result', 'ExecMainStatus']);
    assert.deepEqual(failed, { ActiveState: 'failed', Result: 'exit-code', ExecMainStatus: '3' });
    assert.equal(one(all, 'systemd_unit_failed', { unit: 'hb-failed.service' }).metric.result, failed.Result);
    assert.equal(one(all, 'systemd_unit_failed', { unit: 'hb-failed.service', result: 'exit-code' }).value, 1);
    assert.equal(one(all, 'systemd_unit_last_exit_status', { unit: 'hb-failed.service' }).value, Number(failed.ExecMainStatus));
    assert.equal(one(all, 'systemd_unit_failed', { unit: 'hb-ok.service' }).value, 0);
    assert.equal(one(all, 'systemd_unit_active', { unit: 'hb-ok.service', sub_state: 'running' }).value, 1);

    // the 2 s timer
    const tick = await show('hb-tick.timer', ['TimersMonotonic', 'LastTriggerUSecMonotonic']);
    assert.match(tick.TimersMonotonic ?? '', /OnUnitActiveUSec=2s/);
    assert.ok(tick.LastTriggerUSecMonotonic !== '0', 'hb-tick.timer has triggered');
    const tickAge = one(all, 'systemd_unit_seconds_since_active', { unit: 'hb-tick.timer' }).value;
    assert.ok(tickAge >= 0 && tickAge < 5, `hb-tick.timer seconds since active ${tickAge} < 5`);
    assert.equal(one(all, 'systemd_timer_interval_seconds', { unit: 'hb-tick.timer' }).value, 2);

    // the stale timer: its stamp is 3 days old and it has not run since
    const stale = await show('hb-stale.timer', ['LastTriggerUSec', 'LastTriggerUSecMonotonic']);
    assert.equal(stale.LastTriggerUSecMonotonic, '0', 'triggered before this boot: only the wall clock dates it');
    // 252 prints LastTriggerUSec as "Sat 2026-11-28 07:29:29 UTC" even with --timestamp=unix (TZ=UTC here)
    const m = /^\w{3} (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) UTC$/.exec(stale.LastTriggerUSec ?? '');
    assert.ok(m, `LastTriggerUSec ${stale.LastTriggerUSec}`);
    const lastTriggerS = Date.parse(`${m[1]}T${m[2]}Z`) / 1000;
    const staleAge = one(all, 'systemd_unit_seconds_since_active', { unit: 'hb-stale.timer' }).value;
    assert.ok(Math.abs(staleAge - STALE_TIMER_AGE_SECONDS) < 3600, `stale age ${staleAge} within an hour of ${STALE_TIMER_AGE_SECONDS}`);
    assert.ok(
      Math.abs(staleAge - (nowS - lastTriggerS)) < 120,
      `stale age ${staleAge} agrees with LastTriggerUSec (${nowS - lastTriggerS})`,
    );

    // units that are not loaded
    for (const [unit, state] of [
      ['hb-missing.service', 'not-found'],
      ['hb-masked.service', 'masked'],
    ] as const) {
      assert.equal((await show(unit, ['LoadState'])).LoadState, state);
      assert.equal(one(all, 'systemd_unit_loaded', { unit }).metric.load_state, state);
      assert.equal(one(all, 'systemd_unit_loaded', { unit, load_state: state }).value, 0);
    }
    assert.equal(one(all, 'systemd_unit_loaded', { unit: 'hb-ok.service', load_state: 'loaded' }).value, 1);

    // the host's failed units, as systemctl counts them
    assert.equal(failedBefore, failedAfter, 'the failed set held still during the run');
    assert.equal(one(all, 'systemd_failed_units', {}).value, failedAfter);

    // the escaped instance name is stored verbatim, backslash and all
    assert.equal((await show(ESCAPED, ['ActiveState'])).ActiveState, 'active');
    assert.equal(one(all, 'systemd_unit_active', { unit: ESCAPED, sub_state: 'running' }).value, 1);
    assert.ok(!all.some((s) => s.metric.unit === 'hb-inst@a-b.service'), 'no unescaped twin');
  });

  test('the crash loop restart count grows between two runs', async () => {
    await runExporter(['--host', HOST, '--unit', 'hb-crashloop.service']);
    const first = one(await stored(HOST), 'systemd_unit_restart_count_total', { unit: 'hb-crashloop.service' }).value;
    // no fixed sleep: wait (bounded) until systemd itself has restarted it again
    await sb.waitFor(async () => (await nRestarts()) > first, `hb-crashloop.service to restart past ${first}`, 15_000);
    await runExporter(['--host', HOST, '--unit', 'hb-crashloop.service']);
    const second = one(await stored(HOST), 'systemd_unit_restart_count_total', { unit: 'hb-crashloop.service' }).value;
    assert.ok(second > first, `restart count grew: ${first} -> ${second}`);
  });

  test('user units are read with --user', async () => {
    const user = await show('hb-user.service', ['ActiveState', 'SubState'], true);
    assert.deepEqual(user, { ActiveState: 'active', SubState: 'running' });
    await runExporter(
      ['--user', '--host', USER_HOST, '--unit', 'hb-user.service', '--unit', 'hb-ok.service', '--state-dir', '/tmp/hb-e2e-user-state'],
      {
        XDG_RUNTIME_DIR: USER_RUNTIME_DIR,
      },
    );
    const all = await stored(USER_HOST);
    assert.equal(one(all, 'systemd_unit_active', { unit: 'hb-user.service', sub_state: 'running' }).value, 1);
    // hb-ok.service is a system unit: the user manager does not know it
    assert.equal(one(all, 'systemd_unit_loaded', { unit: 'hb-ok.service' }).metric.load_state, 'not-found');
  });
});
