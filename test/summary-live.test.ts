/**
 * `summary` on live data: the built exporter runs repeatedly inside the isolated real systemd 252
 * (test/harness) and pushes to a real VictoriaMetrics; `summary --since 10m` must then name the
 * crash-looping and the failed fixture units and none of the healthy ones. About a minute of
 * exporter runs (the "few minutes", kept short for CI's budget).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EXIT_PROBLEMS, type Summary } from '../src/summary/model.ts';
import { CLI, assertBuilt, runCli, skipReason } from './support/cli.ts';
import { startVictoria, victoriaUnavailable, type Victoria } from './support/victoria.ts';
import { bootSandbox, sandboxUnavailable, type Sandbox } from './harness/sandbox.ts';

const reason = skipReason(sandboxUnavailable() ?? victoriaUnavailable());

const HOST = 'live';
/** Exporter runs: for this long, at most this many, a second apart (the real timer's 30 s, sped up). */
const RUN_FOR_MS = 60_000;
const MAX_RUNS = 60;
const PAUSE_MS = 1_000;
const HEALTHY = ['hb-ok.service', 'hb-oneshot.service', 'hb-tick.timer'];

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('summary after a minute of exporter runs in a real systemd', { skip: reason }, () => {
  let sb: Sandbox;
  let vm: Victoria;
  let runs = 0;

  before(async () => {
    assertBuilt();
    [sb, vm] = await Promise.all([bootSandbox(), startVictoria()]);
    // The crash loop restarts every ~1.2 s; be sure it has started looping before the first run.
    await sb.waitFor(
      async () => Number((await sb.systemctl(['show', '-p', 'NRestarts', '--value', 'hb-crashloop.service'])).stdout.trim()) > 0,
      'hb-crashloop.service to restart once',
      15_000,
    );
    const started = Date.now();
    while (runs < MAX_RUNS && Date.now() - started < RUN_FOR_MS) {
      const r = await sb.exec([process.execPath, CLI, '--host', HOST, '-u', 'hb-*.service', '-u', 'hb-*.timer', '--endpoint', vm.otlpUrl], {
        timeoutMs: 30_000,
      });
      assert.equal(r.code, 0, `exporter run ${runs + 1} exited ${r.code}: ${r.stderr}`);
      runs++;
      await sleep(PAUSE_MS);
    }
    // VictoriaMetrics answers the push before the rows are searchable: wait (bounded) for all runs.
    await sb.waitFor(
      async () => {
        await vm.flush();
        const [count] = await vm.query(`count_over_time(systemd_heartbeat_last_run_timestamp_seconds{host="${HOST}"}[10m])`);
        return count?.value === runs;
      },
      `all ${runs} runs to be searchable`,
      20_000,
    );
  });
  after(async () => {
    await Promise.all([sb?.stop(), vm?.stop()]);
  });

  test('json: the failed and the crash-looping fixture units, none of the healthy ones', async () => {
    const r = await runCli(['summary', '--since', '10m', '--host', HOST, '--vm-url', vm.url, '--format', 'json'], {}, 60_000);
    assert.equal(r.stderr, '');
    assert.equal(r.code, EXIT_PROBLEMS);
    const s = JSON.parse(r.stdout) as Summary;
    const host = s.hosts[0];
    assert.ok(host && host.host === HOST && !host.noData, r.stdout);
    assert.ok(runs >= 10, `enough exporter runs (${runs})`);

    const failed = host.failed.find((f) => f.unit === 'hb-failed.service');
    assert.ok(failed, `hb-failed.service is reported failed: ${JSON.stringify(host.failed)}`);
    assert.equal(failed.result, 'exit-code');
    assert.equal(failed.exitStatus, 3);
    assert.equal(failed.stillFailed, true);

    const loop = host.restarts.find((u) => u.unit === 'hb-crashloop.service');
    assert.ok(loop, `hb-crashloop.service is reported restarting: ${JSON.stringify(host.restarts)}`);
    assert.ok(loop.restarts >= 5, `restarts ${loop.restarts}`);
    assert.equal(loop.looping, true, JSON.stringify(loop));
    assert.equal(loop.loops.length, 1);

    const named = new Set(
      [
        ...host.failed,
        ...host.restarts,
        ...host.timers.filter((t) => t.problem),
        ...host.timerJobs.filter((j) => j.problem),
        ...host.missing,
      ].map((f) => f.unit),
    );
    for (const unit of HEALTHY) assert.ok(!named.has(unit), `${unit} is healthy and not named: ${[...named].join(', ')}`);
    assert.ok(
      !host.failed.some((f) => f.unit === 'hb-crashloop.service'),
      'a crash loop with Restart=always restarts, it never enters failed',
    );

    // hb-tick.timer's job ran every 2 s the whole time, and the exporter counted its runs from the journal.
    const tick = host.timerJobs.find((j) => j.unit === 'hb-tick.timer');
    assert.ok(tick, JSON.stringify(host.timerJobs));
    assert.equal(tick.service, 'hb-oneshot.service');
    assert.ok(tick.runs >= 10, `the 2 s job's runs were counted: ${JSON.stringify(tick)}`);
    assert.equal(tick.successes, tick.runs);
    assert.equal(tick.failures, 0);
    assert.equal(tick.lastResult, 'success');
    assert.equal(tick.problem, false);
  });

  test('text: names them in the report a person reads', async (t) => {
    const r = await runCli(['summary', '--since', '10m', '--host', HOST, '--vm-url', vm.url], {}, 60_000);
    assert.equal(r.code, EXIT_PROBLEMS);
    assert.match(r.stdout, /^\d+ problems? on live in the last 10m\n/);
    assert.match(r.stdout, /\n {4}hb-failed\.service: exit-code, exit status 3; failed since .*, still failed\n/);
    assert.match(r.stdout, /\n {4}hb-crashloop\.service: \d+ restarts, .*still looping\n/);
    // "timer jobs" lists every timer's runs, healthy or not: the healthy units stay out of the rest.
    const findings = r.stdout.replace(/\n {2}timer jobs: [^\n]*(\n {4}[^\n]*)*/, '');
    assert.match(r.stdout, /\n {4}hb-tick\.timer: hb-oneshot\.service: /);
    for (const unit of HEALTHY) assert.ok(!findings.includes(unit), `${unit} not in:\n${r.stdout}`);
    t.diagnostic(r.stdout);
  });
});
