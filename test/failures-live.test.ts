/**
 * Every failure with its time, live (issue 18): in the isolated real systemd 252, the BUILT CLI
 * ticks again and again, pushing to a real VictoriaMetrics, and a real vmalert evaluates the
 * rules rendered from the shipped template with short windows. Units:
 * - hb-crash.service crash-loops (RestartSec=300ms, far under the gap between ticks): the
 *   exporter's systemd_unit_failures_total equals, exactly, the failure entries PID 1 journaled
 *   for it in that span, and its last failure is the last entry's time (within 1 s);
 * - hb-reload.service runs, and its ExecReload= fails until a file exists: a failed reload
 *   gives reload_failed 1 and reloads_total{result="failed"} +1 and SystemdUnitReloadFailed;
 *   a good reload clears it;
 * - hb-skip.timer fires every 2 s and its job's ConditionPathExists= never holds: runs_total
 *   {result="skipped"} grows and SystemdTimerJobFailing fires for it;
 * - nothing fires for the healthy hb-ok.service and hb-tick.timer.
 * Every tick is a new exporter process on the same state directory: the counts continue
 * across them. Then the journal is made unreadable (a journalctl that answers as it does to a
 * user outside systemd-journal): the exporter says so once and counts failures from what
 * `show` has at each tick.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bootSandbox, sandboxUnavailable, type Sandbox } from './harness/sandbox.ts';
import { CLI, assertBuilt, skipReason } from './support/cli.ts';
import { startVictoria, victoriaUnavailable, type Victoria, type Vmalert, type VmalertAlert } from './support/victoria.ts';
import { RUN_EVERY_MS, SHORT_WINDOWS, describeAlerts, sleep, startShortVmalert } from './support/live-alerts.ts';
import { FAILURE_MESSAGE_ID } from '../src/systemd/journal.ts';

const reason = skipReason(sandboxUnavailable() ?? victoriaUnavailable());

const HOST = 'failures-live';
const STATE = '/var/tmp/hb-failures-state';
const UNITS = ['hb-crash.service', 'hb-reload.service', 'hb-skip.timer', 'hb-skip.service', 'hb-ok.service', 'hb-tick.timer'];
const HEALTHY = ['hb-ok.service', 'hb-tick.timer'];

const EXTRA_UNITS: Record<string, string> = {
  'hb-crash.service':
    '[Unit]\nStartLimitIntervalSec=0\n[Service]\nExecStart=/bin/sh -c "sleep 0.4; exit 3"\nRestart=always\nRestartSec=300ms\n',
  'hb-reload.service': '[Service]\nExecStart=/bin/sleep infinity\nExecReload=/bin/test -e /var/tmp/reload-ok\n',
  'hb-skip.timer': '[Timer]\nUnit=hb-skip.service\nOnCalendar=*-*-* *:*:00/2\nAccuracySec=100ms\n',
  'hb-skip.service':
    '[Unit]\nStartLimitIntervalSec=0\nConditionPathExists=/var/tmp/repository\n[Service]\nType=oneshot\nExecStart=/bin/true\n',
};

const SHORT: Record<string, string> = { ...SHORT_WINDOWS, JOB_FAILING_MIN_SECONDS: '10', JOB_FAILING_LOOKBACK: '1h' };
const MAX_RUNS = 50;
const RUNS_DEADLINE_MS = 100_000;
const MORE_RUNS = 4;

describe('failures, reloads and skipped jobs live: real systemd 252 -> built CLI -> real VictoriaMetrics -> real vmalert', {
  skip: reason,
}, () => {
  let sb: Sandbox | undefined;
  let vm: Victoria | undefined;
  let vmalert: Vmalert | undefined;
  before(async () => {
    assertBuilt();
    [sb, vm] = await Promise.all([
      bootSandbox({ extraUnits: EXTRA_UNITS, bootUnits: ['hb-crash.service', 'hb-reload.service', 'hb-skip.timer'] }),
      startVictoria(),
    ]);
    vmalert = await startShortVmalert(vm, SHORT);
  });
  after(async () => {
    await Promise.all([vmalert?.stop(), sb?.stop(), vm?.stop()]);
  });

  test('failures counted exactly with their time, a failed reload and skipped jobs alert, healthy units stay quiet, counts go on across processes', async (t) => {
    const box = sb as Sandbox;
    const victoria = vm as Victoria;
    const alerting = vmalert as Vmalert;
    const tick = async (host = HOST, env: Record<string, string> = {}): Promise<string> => {
      const r = await box.exec(
        [process.execPath, CLI, '--host', host, '--endpoint', victoria.otlpUrl, ...UNITS.flatMap((u) => ['-u', u])],
        {
          env: { SYSTEMD_HEARTBEAT_STATE_DIR: STATE, ...env },
          timeoutMs: 30_000,
        },
      );
      assert.equal(r.code, 0, `exporter exited ${r.code}: ${r.stderr}`);
      return r.stderr;
    };
    const latest = async (selector: string): Promise<number | undefined> => {
      await victoria.flush();
      const [series] = await victoria.exportRaw(selector);
      return series?.values.at(-1);
    };
    const firing = (alerts: readonly VmalertAlert[], name: string, unit: string): boolean =>
      alerts.some((a) => a.name === name && a.state === 'firing' && a.labels['unit'] === unit);

    const startedAt = Date.now() / 1000;
    assert.equal(await tick(), '', 'a first tick: from here on every failure counts');
    const reload = await box.systemctl(['reload', 'hb-reload.service']);
    assert.notEqual(reload.code, 0, 'the reload fails while /var/tmp/reload-ok is missing');

    let runs = 0;
    let alerts: VmalertAlert[] = [];
    let settledAt: number | undefined;
    const counts: number[] = [];
    const started = Date.now();
    while (runs < MAX_RUNS && Date.now() - started < RUNS_DEADLINE_MS) {
      const at = Date.now();
      await tick();
      runs++;
      alerts = await alerting.alerts();
      const wrong = alerts.filter((a) => HEALTHY.includes(a.labels['unit'] ?? ''));
      assert.deepEqual(wrong, [], `after run ${runs}, alerts for healthy units:\n${describeAlerts(wrong)}`);
      counts.push((await latest(`systemd_unit_failures_total{host="${HOST}",unit="hb-crash.service",result="exit-code"}`)) ?? 0);
      const wanted =
        firing(alerts, 'SystemdUnitReloadFailed', 'hb-reload.service') && firing(alerts, 'SystemdTimerJobFailing', 'hb-skip.timer');
      if (settledAt === undefined && wanted) settledAt = runs;
      if (settledAt !== undefined && runs >= settledAt + MORE_RUNS) break;
      await sleep(Math.max(0, RUN_EVERY_MS - (Date.now() - at)));
    }
    t.diagnostic(`${runs} ticks; failures of hb-crash.service per tick: ${counts.join(' ')}`);
    assert.ok(settledAt !== undefined, `the expected alerts did not fire; vmalert has:\n${describeAlerts(alerts)}`);
    const jobFailing = alerts.find((a) => a.name === 'SystemdTimerJobFailing' && a.labels['unit'] === 'hb-skip.timer');
    assert.equal(jobFailing?.labels['result'], 'skipped');
    assert.ok(
      counts.every((c, i) => i === 0 || c >= (counts[i - 1] as number)),
      `counts go on across exporter processes: ${counts}`,
    );
    assert.ok(
      counts.some((c, i) => i > 0 && c - (counts[i - 1] as number) >= 2),
      `a tick saw two or more crashes at once: ${counts}`,
    );

    // Exact: stop the loop, one more tick, then compare with what the journal holds for the span.
    assert.equal((await box.systemctl(['stop', 'hb-crash.service'])).code, 0);
    await tick();
    const journal = await box.exec([
      'journalctl',
      '-o',
      'json',
      '--no-pager',
      `--since=@${startedAt.toFixed(6)}`,
      '_PID=1',
      `MESSAGE_ID=${FAILURE_MESSAGE_ID}`,
      'UNIT=hb-crash.service',
    ]);
    const entries = journal.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { __REALTIME_TIMESTAMP: string; UNIT_RESULT: string });
    assert.ok(entries.length >= 5, `the unit crashed a few times: ${entries.length}`);
    const byResult: Record<string, number> = {};
    for (const e of entries) byResult[e.UNIT_RESULT] = (byResult[e.UNIT_RESULT] ?? 0) + 1;
    for (const [result, n] of Object.entries(byResult)) {
      assert.equal(
        await latest(`systemd_unit_failures_total{host="${HOST}",unit="hb-crash.service",result="${result}"}`),
        n,
        `${result}: every entry once`,
      );
    }
    const lastEntry = Number(entries.at(-1)?.__REALTIME_TIMESTAMP) / 1e6;
    const lastFailure = await latest(`systemd_unit_last_failure_timestamp_seconds{host="${HOST}",unit="hb-crash.service"}`);
    assert.ok(
      lastFailure !== undefined && Math.abs(lastFailure - lastEntry) < 1,
      `last failure ${lastFailure} vs the last entry ${lastEntry}`,
    );

    // The failed reload was counted once; a good one clears reload_failed and the alert.
    assert.equal(await latest(`systemd_unit_reload_failed{host="${HOST}",unit="hb-reload.service"}`), 1);
    assert.equal(await latest(`systemd_unit_reloads_total{host="${HOST}",unit="hb-reload.service",result="failed"}`), 1);
    await box.exec(['touch', '/var/tmp/reload-ok']);
    assert.equal((await box.systemctl(['reload', 'hb-reload.service'])).code, 0);
    await tick();
    assert.equal(await latest(`systemd_unit_reload_failed{host="${HOST}",unit="hb-reload.service"}`), 0);
    assert.equal(await latest(`systemd_unit_reloads_total{host="${HOST}",unit="hb-reload.service",result="done"}`), 1);
    assert.equal(await latest(`systemd_unit_reloads_total{host="${HOST}",unit="hb-reload.service",result="failed"}`), 1, 'still 1');
    let cleared = false;
    for (let i = 0; i < 20 && !cleared; i++) {
      await sleep(1000);
      await tick();
      cleared = !firing(await alerting.alerts(), 'SystemdUnitReloadFailed', 'hb-reload.service');
    }
    assert.ok(cleared, 'SystemdUnitReloadFailed cleared after the good reload');

    // Skipped starts: counted, none of them a run or a success.
    const skipped = await latest(`systemd_timer_runs_total{host="${HOST}",unit="hb-skip.timer",result="skipped"}`);
    assert.ok((skipped ?? 0) >= 5, `skipped starts counted: ${skipped}`);
    assert.equal(await latest(`systemd_timer_runs_total{host="${HOST}",unit="hb-skip.timer",result="success"}`), 0);
    assert.equal(await latest(`systemd_unit_condition_met{host="${HOST}",unit="hb-skip.service"}`), 0);

    // The journal unreadable: said once, and failures counted from what show has at each tick.
    const denied = '/var/tmp/journalctl-denied';
    await box.writeFile(
      denied,
      "#!/bin/sh\necho 'Hint: You are currently not seeing messages from other users and the system.' >&2\nexit 0\n",
      0o755,
    );
    assert.equal((await box.systemctl(['start', 'hb-crash.service'])).code, 0);
    const first = await tick(`${HOST}-nojournal`, {
      SYSTEMD_HEARTBEAT_JOURNALCTL: denied,
      SYSTEMD_HEARTBEAT_STATE_DIR: `${STATE}-nojournal`,
    });
    assert.match(first, /journal not readable \(Hint: You are currently not seeing messages/);
    let fallback = 0;
    for (let i = 0; i < 12 && fallback === 0; i++) {
      await sleep(700);
      const again = await tick(`${HOST}-nojournal`, {
        SYSTEMD_HEARTBEAT_JOURNALCTL: denied,
        SYSTEMD_HEARTBEAT_STATE_DIR: `${STATE}-nojournal`,
      });
      assert.doesNotMatch(again, /journal not readable/, 'said once, not every tick');
      fallback = (await latest(`systemd_unit_failures_total{host="${HOST}-nojournal",unit="hb-crash.service",result="exit-code"}`)) ?? 0;
    }
    assert.ok(fallback >= 1, 'failures seen at ticks are counted without the journal');
    assert.equal(await latest(`systemd_heartbeat_journal_readable{host="${HOST}-nojournal"}`), 0);
  });
});
