/**
 * The shipped alert rules, end to end on the real stack: the BUILT CLI runs again and again
 * inside the isolated real systemd 252 (test/harness), pushing to a real VictoriaMetrics, and a
 * real vmalert evaluates the rules rendered from the same template with short windows
 * (scripts/render-alert-rules.ts; not a hand-edited copy).
 *
 * Asserted on what vmalert reports: SystemdUnitRestartLoop fires for the crash-looping unit
 * and SystemdUnitFailed for the failed one, SystemdUnitMissing for the not-found and the masked
 * unit; nothing fires or is pending for the healthy units (the long-running service, the 2 s
 * timer and the oneshot it starts on every run, the far-away calendar timer with its 3-day-old
 * stamp); SystemdTimerStale fires for the 2 s timer once it is stopped; and
 * SystemdHeartbeatAbsent fires once the runs stop.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CLI, assertBuilt, skipReason } from './support/cli.ts';
import { startVictoria, victoriaUnavailable, type Victoria, type Vmalert, type VmalertAlert } from './support/victoria.ts';
import { RUN_EVERY_MS, SHORT_WINDOWS, describeAlerts, sleep, startShortVmalert } from './support/live-alerts.ts';
import { bootSandbox, sandboxUnavailable, type Sandbox } from './harness/sandbox.ts';

const reason = skipReason(sandboxUnavailable() ?? victoriaUnavailable());

const HOST = 'live';
const ALLOWLIST = ['hb-*.service', 'hb-*.timer', 'hb-missing.service', 'hb-masked.service'];
/** Units that are healthy (or, hb-stale.timer, simply not due): no alert may name them. */
const HEALTHY = ['hb-ok.service', 'hb-tick.timer', 'hb-oneshot.service', 'hb-stale.timer', 'hb-stale.service'];

const MAX_RUNS = 40;
const RUNS_DEADLINE_MS = 75_000;
const ABSENT_DEADLINE_MS = 60_000;
const MIN_RUNS = 8;

describe('alert rules live: real systemd 252 -> built CLI -> real VictoriaMetrics -> real vmalert', { skip: reason }, () => {
  let sb: Sandbox | undefined;
  let vm: Victoria | undefined;
  let vmalert: Vmalert | undefined;

  before(async () => {
    assertBuilt();
    [sb, vm] = await Promise.all([bootSandbox(), startVictoria()]);
    vmalert = await startShortVmalert(vm, SHORT_WINDOWS);
  });
  after(async () => {
    await Promise.all([vmalert?.stop(), sb?.stop(), vm?.stop()]);
  });

  test('restart loop, failed and missing units fire, healthy units stay quiet, a stopped timer goes stale, the dead-man fires after the runs stop', async (t) => {
    const box = sb as Sandbox;
    const victoria = vm as Victoria;
    const alerting = vmalert as Vmalert;
    const runExporter = async (): Promise<void> => {
      const r = await box.exec(
        [
          process.execPath,
          CLI,
          '--host',
          HOST,
          '--state-dir',
          '/tmp/hb-alerts-live-state',
          '--endpoint',
          victoria.otlpUrl,
          ...ALLOWLIST.flatMap((u) => ['--unit', u]),
        ],
        { timeoutMs: 30_000 },
      );
      assert.equal(r.code, 0, `exporter exited ${r.code}: ${r.stderr}`);
    };

    const firing = (alerts: readonly VmalertAlert[], name: string, unit?: string): VmalertAlert[] =>
      alerts.filter((a) => a.name === name && a.state === 'firing' && (unit === undefined || a.labels['unit'] === unit));
    const wanted = (alerts: readonly VmalertAlert[]): boolean =>
      firing(alerts, 'SystemdUnitRestartLoop', 'hb-crashloop.service').length === 1 &&
      firing(alerts, 'SystemdUnitFailed', 'hb-failed.service').length === 1 &&
      firing(alerts, 'SystemdUnitMissing', 'hb-missing.service').length === 1 &&
      firing(alerts, 'SystemdUnitMissing', 'hb-masked.service').length === 1;

    // Phase 1: the exporter runs every ~1.5 s (bounded in count and time) until the expected
    // alerts fire, then a few more runs so "nothing for the healthy units" is judged on a while
    // of data, not on the first seconds.
    const started = Date.now();
    let runs = 0;
    let alerts: VmalertAlert[] = [];
    let settledAt: number | undefined;
    while (runs < MAX_RUNS && Date.now() - started < RUNS_DEADLINE_MS) {
      const tick = Date.now();
      await runExporter();
      runs++;
      alerts = await alerting.alerts();
      // Every evaluation along the way: no alert (pending or firing) names a healthy unit, and
      // the host is never reported absent while it pushes.
      const wrong = alerts.filter(
        (a) => HEALTHY.includes(a.labels['unit'] ?? '') || a.name === 'SystemdHeartbeatAbsent' || a.name === 'SystemdMassRestart',
      );
      assert.deepEqual(wrong, [], `after run ${runs}, alerts that must not exist:\n${describeAlerts(wrong)}`);
      if (settledAt === undefined && wanted(alerts)) settledAt = runs;
      if (settledAt !== undefined && runs >= Math.max(MIN_RUNS, settledAt + 4)) break;
      await sleep(Math.max(0, RUN_EVERY_MS - (Date.now() - tick)));
    }
    t.diagnostic(`${runs} exporter runs in ${Date.now() - started} ms; the expected alerts all fired after run ${String(settledAt)}`);
    assert.ok(
      settledAt !== undefined,
      `after ${runs} runs in ${Date.now() - started} ms the expected alerts did not all fire; vmalert has:\n${describeAlerts(alerts)}`,
    );

    const loop = firing(alerts, 'SystemdUnitRestartLoop');
    assert.deepEqual(
      loop.map((a) => a.labels['unit']),
      ['hb-crashloop.service'],
      'RestartLoop fires for the crash loop only (not for hb-oneshot.service, which its timer starts on every run)',
    );
    const [loopAlert] = loop;
    assert.equal(loopAlert?.labels['host'], HOST);
    assert.equal(loopAlert?.labels['severity'], 'critical');
    assert.equal(loopAlert?.annotations['runbook_url'], 'RUNBOOK.md#systemdunitrestartloop');
    assert.match(
      loopAlert?.annotations['description'] ?? '',
      /^hb-crashloop\.service on live restarted \d+ times in the last 30s \(more than 3\)/,
    );

    const failed = firing(alerts, 'SystemdUnitFailed');
    assert.deepEqual(
      failed.map((a) => a.labels['unit']),
      ['hb-failed.service'],
    );
    assert.equal(failed[0]?.labels['result'], 'exit-code');
    assert.equal(failed[0]?.labels['severity'], 'critical', 'allowlisted');
    assert.equal(failed[0]?.annotations['runbook_url'], 'RUNBOOK.md#systemdunitfailed');

    const missing = firing(alerts, 'SystemdUnitMissing');
    assert.deepEqual(missing.map((a) => `${a.labels['unit']}:${a.labels['load_state']}`).sort(), [
      'hb-masked.service:masked',
      'hb-missing.service:not-found',
    ]);
    assert.deepEqual(firing(alerts, 'SystemdTimerStale'), [], 'the 2 s timer triggers on time; the 2099 timer does not repeat');

    // The quiet oneshot is a real test of the rule: its timer starts it on every run, so its
    // starts counter climbs past the threshold; only its clean exits keep it out of the loop alert.
    const oneshotStarts = await victoria.query(
      `increase_prometheus(systemd_unit_starts_total{host="${HOST}",unit="hb-oneshot.service"}[30s])`,
    );
    assert.ok((oneshotStarts[0]?.value ?? 0) > 3, `hb-oneshot.service starts in 30s: ${JSON.stringify(oneshotStarts)}`);

    // The restart-loop alert is about the unit systemd really restarts: NRestarts is climbing.
    const nRestarts = await box.systemctl(['show', '-p', 'NRestarts', '--value', '--', 'hb-crashloop.service']);
    assert.ok(Number(nRestarts.stdout.trim()) > 3, `hb-crashloop.service NRestarts=${nRestarts.stdout.trim()}`);

    // Phase 2: hb-tick.timer is stopped, so it stops triggering while the exporter keeps
    // reporting it: SystemdTimerStale fires for it, and for nothing else.
    const stop = await box.systemctl(['stop', 'hb-tick.timer']);
    assert.equal(stop.code, 0, stop.stderr);
    const stillHealthy = HEALTHY.filter((u) => u !== 'hb-tick.timer' && u !== 'hb-oneshot.service');
    const staleStarted = Date.now();
    let stale: VmalertAlert[] = [];
    for (let run = 0; run < MAX_RUNS && Date.now() - staleStarted < RUNS_DEADLINE_MS; run++) {
      const tick = Date.now();
      await runExporter();
      alerts = await alerting.alerts();
      const wrong = alerts.filter((a) => stillHealthy.includes(a.labels['unit'] ?? '') || a.name === 'SystemdHeartbeatAbsent');
      assert.deepEqual(wrong, [], `alerts that must not exist:\n${describeAlerts(wrong)}`);
      stale = alerts.filter((a) => a.name === 'SystemdTimerStale' && a.state === 'firing');
      if (stale.length > 0) break;
      await sleep(Math.max(0, RUN_EVERY_MS - (Date.now() - tick)));
    }
    t.diagnostic(`SystemdTimerStale fired ${Date.now() - staleStarted} ms after hb-tick.timer was stopped`);
    assert.deepEqual(
      stale.map((a) => a.labels['unit']),
      ['hb-tick.timer'],
      `vmalert has:\n${describeAlerts(alerts)}`,
    );
    assert.equal(stale[0]?.labels['severity'], 'warning');
    assert.equal(stale[0]?.annotations['runbook_url'], 'RUNBOOK.md#systemdtimerstale');
    assert.match(
      stale[0]?.annotations['description'] ?? '',
      /^hb-tick\.timer on live last triggered .+ ago, more than 2x its own interval/,
    );

    // Phase 3: the runs stop. Every series of the host ages out, and the dead-man's switch fires.
    const stoppedAt = Date.now();
    let absent: VmalertAlert[] = [];
    for (let poll = 0; poll < ABSENT_DEADLINE_MS / 500 && Date.now() - stoppedAt < ABSENT_DEADLINE_MS; poll++) {
      alerts = await alerting.alerts();
      absent = firing(alerts, 'SystemdHeartbeatAbsent');
      if (absent.length > 0) break;
      await sleep(500);
    }
    t.diagnostic(`SystemdHeartbeatAbsent fired ${Date.now() - stoppedAt} ms after the last run`);
    assert.equal(
      absent.length,
      1,
      `SystemdHeartbeatAbsent did not fire within ${ABSENT_DEADLINE_MS} ms of the last run; vmalert has:\n${describeAlerts(alerts)}`,
    );
    assert.equal(absent[0]?.labels['host'], HOST);
    assert.equal(absent[0]?.labels['severity'], 'critical');
    assert.equal(absent[0]?.annotations['runbook_url'], 'RUNBOOK.md#systemdheartbeatabsent');
    // The threshold is a floor: it cannot have fired before 20 s of silence had passed.
    const lastRun = await victoria.query(`max_over_time(systemd_heartbeat_last_run_timestamp_seconds{host="${HOST}"}[1h])`);
    assert.equal(lastRun.length, 1);
    assert.ok(Date.now() / 1000 - (lastRun[0]?.value ?? 0) > 20, 'fired only after the absence threshold');
  });
});
