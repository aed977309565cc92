/**
 * The timer alerts end to end on the real stack: the BUILT CLI runs again and again inside the
 * isolated real systemd 252 (test/harness), pushing to a real VictoriaMetrics, and a real vmalert
 * evaluates the rules rendered from the shipped template with short windows.
 *
 * Units (besides the fixtures): hb-stopped.timer (loaded, never started), hb-once.timer (only
 * OnActiveSec=1s: fires once at boot, then active/elapsed with no next elapse) and
 * hb-fail.timer (every 2 s, its job always exits 1). Asserted on what vmalert reports:
 * SystemdTimerWillNotFire fires for hb-stopped.timer (reason inactive) and hb-once.timer
 * (no-next-elapse), SystemdTimerJobFailing for hb-fail.timer (its job never succeeded: the age
 * runs from its first failure); and at no evaluation does any alert fire for the healthy 2 s
 * hb-tick.timer, nor a timer alert for the far-away calendar timer hb-stale.timer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bootSandbox, sandboxUnavailable, type Sandbox } from './harness/sandbox.ts';
import { CLI, assertBuilt, skipReason } from './support/cli.ts';
import { startVictoria, victoriaUnavailable, type Victoria, type Vmalert, type VmalertAlert } from './support/victoria.ts';
import { RUN_EVERY_MS, SHORT_WINDOWS, describeAlerts, sleep, startShortVmalert } from './support/live-alerts.ts';

const reason = skipReason(sandboxUnavailable() ?? victoriaUnavailable());

const HOST = 'timers-alerts';
const STATE = '/var/tmp/hb-state';

const EXTRA_UNITS: Record<string, string> = {
  'hb-stopped.timer': '[Timer]\nUnit=hb-stopped.service\nOnCalendar=hourly\n',
  'hb-stopped.service': '[Service]\nType=oneshot\nExecStart=/bin/true\n',
  'hb-once.timer': '[Timer]\nUnit=hb-once.service\nOnActiveSec=1s\nAccuracySec=100ms\n',
  'hb-once.service': '[Service]\nType=oneshot\nExecStart=/bin/true\n',
  'hb-fail.timer': '[Timer]\nUnit=hb-fail.service\nOnActiveSec=1s\nOnUnitActiveSec=2s\nAccuracySec=100ms\n',
  'hb-fail.service': '[Service]\nType=oneshot\nExecStart=/bin/false\n',
};

/**
 * The live tests' short windows and the timer alerts' own. The definitions stay: 2x the
 * interval with a floor (10 s here, over the 4 s that 2x of a 2 s timer gives), next elapse
 * more than 60 s past.
 */
const SHORT: Record<string, string> = {
  ...SHORT_WINDOWS,
  WILL_NOT_FIRE_FOR: '5s',
  JOB_FAILING_MIN_SECONDS: '10',
  JOB_FAILING_LOOKBACK: '1h',
};

const MAX_RUNS = 50;
const RUNS_DEADLINE_MS = 90_000;
/** Runs after everything expected fired, so "nothing for hb-tick.timer" is judged on a while of data. */
const MORE_RUNS = 6;

describe('timer alerts live: real systemd 252 -> built CLI -> real VictoriaMetrics -> real vmalert', { skip: reason }, () => {
  let sb: Sandbox | undefined;
  let vm: Victoria | undefined;
  let vmalert: Vmalert | undefined;

  before(async () => {
    assertBuilt();
    [sb, vm] = await Promise.all([
      bootSandbox({ extraUnits: EXTRA_UNITS, bootUnits: ['hb-once.timer', 'hb-fail.timer'] }),
      startVictoria(),
    ]);
    vmalert = await startShortVmalert(vm, SHORT);
  });
  after(async () => {
    await Promise.all([vmalert?.stop(), sb?.stop(), vm?.stop()]);
  });

  test('WillNotFire for a stopped and an exhausted timer, JobFailing for an always-failing job, nothing for hb-tick.timer', async (t) => {
    const box = sb as Sandbox;
    const victoria = vm as Victoria;
    const alerting = vmalert as Vmalert;

    // The units are what the test says they are, per systemd itself.
    const show = await box.systemctl([
      'show',
      '-p',
      'Id,ActiveState,SubState,NextElapseUSecMonotonic',
      '--',
      'hb-stopped.timer',
      'hb-once.timer',
    ]);
    assert.match(show.stdout, /Id=hb-stopped\.timer\nActiveState=inactive\nSubState=dead/, show.stdout);

    const runExporter = async (): Promise<void> => {
      // hb-stopped.timer by name: a glob sees only units systemd has loaded, and a timer
      // nothing references and nobody started is not loaded (src/systemd/collect.ts).
      const r = await box.exec(
        [process.execPath, CLI, '--host', HOST, '-u', 'hb-*.timer', '-u', 'hb-stopped.timer', '--endpoint', victoria.otlpUrl],
        {
          env: { SYSTEMD_HEARTBEAT_STATE_DIR: STATE },
          timeoutMs: 30_000,
        },
      );
      assert.equal(r.code, 0, `exporter exited ${r.code}: ${r.stderr}`);
    };
    const firing = (alerts: readonly VmalertAlert[], name: string, unit?: string): VmalertAlert[] =>
      alerts.filter((a) => a.name === name && a.state === 'firing' && (unit === undefined || a.labels['unit'] === unit));
    const wanted = (alerts: readonly VmalertAlert[]): boolean =>
      firing(alerts, 'SystemdTimerWillNotFire', 'hb-stopped.timer').length > 0 &&
      firing(alerts, 'SystemdTimerWillNotFire', 'hb-once.timer').length > 0 &&
      firing(alerts, 'SystemdTimerJobFailing', 'hb-fail.timer').length > 0;

    const started = Date.now();
    let runs = 0;
    let alerts: VmalertAlert[] = [];
    let settledAt: number | undefined;
    let tickPending = 0;
    while (runs < MAX_RUNS && Date.now() - started < RUNS_DEADLINE_MS) {
      const tick = Date.now();
      await runExporter();
      runs++;
      alerts = await alerting.alerts();
      // At every evaluation along the way: nothing fires for the healthy 2 s timer, and no timer
      // alert names the far-away calendar timer; the stopped and exhausted timers' jobs did not fail.
      const wrong = alerts.filter(
        (a) =>
          a.state === 'firing' &&
          (a.labels['unit'] === 'hb-tick.timer' ||
            (a.name.startsWith('SystemdTimer') && a.labels['unit'] === 'hb-stale.timer') ||
            (a.name === 'SystemdTimerJobFailing' && a.labels['unit'] !== 'hb-fail.timer') ||
            (a.name === 'SystemdTimerWillNotFire' && a.labels['unit'] === 'hb-fail.timer')),
      );
      assert.deepEqual(wrong, [], `after run ${runs}, alerts that must not fire:\n${describeAlerts(wrong)}`);
      tickPending += alerts.filter((a) => a.labels['unit'] === 'hb-tick.timer').length;
      if (settledAt === undefined && wanted(alerts)) settledAt = runs;
      if (settledAt !== undefined && runs >= settledAt + MORE_RUNS) break;
      await sleep(Math.max(0, RUN_EVERY_MS - (Date.now() - tick)));
    }
    t.diagnostic(
      `${runs} exporter runs in ${Date.now() - started} ms; the expected alerts all fired after run ${String(settledAt)}; hb-tick.timer pending along the way: ${tickPending}`,
    );
    assert.ok(settledAt !== undefined, `after ${runs} runs the expected alerts did not all fire; vmalert has:\n${describeAlerts(alerts)}`);
    assert.deepEqual(
      alerts.filter((a) => a.labels['unit'] === 'hb-tick.timer'),
      [],
      'at the end, not even a pending alert for hb-tick.timer',
    );

    const willNotFire = firing(alerts, 'SystemdTimerWillNotFire');
    assert.deepEqual(
      willNotFire.map((a) => `${a.labels['unit']}:${a.labels['reason']}`).sort(),
      ['hb-once.timer:no-next-elapse', 'hb-stopped.timer:inactive'],
      describeAlerts(alerts),
    );
    for (const a of willNotFire) {
      assert.equal(a.labels['host'], HOST);
      assert.equal(a.labels['severity'], 'warning');
      assert.equal(a.annotations['runbook_url'], 'RUNBOOK.md#systemdtimerwillnotfire');
    }
    assert.match(
      willNotFire.find((a) => a.labels['unit'] === 'hb-stopped.timer')?.annotations['description'] ?? '',
      /the timer is not active/,
    );

    const jobFailing = firing(alerts, 'SystemdTimerJobFailing');
    assert.deepEqual(
      jobFailing.map((a) => `${a.labels['unit']}:${a.labels['service']}:${a.labels['result']}`),
      ['hb-fail.timer:hb-fail.service:exit-code'],
    );
    assert.equal(jobFailing[0]?.labels['severity'], 'critical');
    assert.equal(jobFailing[0]?.annotations['runbook_url'], 'RUNBOOK.md#systemdtimerjobfailing');
    assert.match(
      jobFailing[0]?.annotations['description'] ?? '',
      /^hb-fail\.service, started by hb-fail\.timer on timers-alerts, last finished with result exit-code/,
    );

    // What the alerts stand on, per VictoriaMetrics: the exhausted timer really has no next
    // elapse while the healthy one has one, and the failing job never succeeded.
    const next = await victoria.query(`last_over_time(systemd_timer_next_elapse_timestamp_seconds{host="${HOST}"}[20s])`);
    const withNext = next.map((s) => s.metric['unit']).sort();
    assert.ok(withNext.includes('hb-tick.timer') && withNext.includes('hb-stale.timer'), `next elapse for ${withNext.join(', ')}`);
    assert.ok(!withNext.includes('hb-once.timer') && !withNext.includes('hb-stopped.timer'), `next elapse for ${withNext.join(', ')}`);
    const successes = await victoria.query(
      `last_over_time(systemd_timer_runs_total{host="${HOST}",unit="hb-fail.timer",result="success"}[20s])`,
    );
    assert.equal(successes[0]?.value, 0, 'hb-fail.service never succeeded');
    const failures = await victoria.query(
      `last_over_time(systemd_timer_runs_total{host="${HOST}",unit="hb-fail.timer",result="exit-code"}[20s])`,
    );
    assert.ok((failures[0]?.value ?? 0) > 3, `hb-fail.service failed runs: ${JSON.stringify(failures)}`);
  });
});
