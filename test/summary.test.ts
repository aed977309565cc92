/**
 * `summary` end to end: a known day of history backfilled into a real VictoriaMetrics 1.112.0
 * (Prometheus text with timestamps, every 30 s like the exporter), the built CLI run as a
 * process, the exact findings asserted in all three formats (JSON structurally, text and
 * markdown against golden files that UPDATE_GOLDEN=1 rewrites). Plus the failure modes:
 * VictoriaMetrics refusing connections or never answering, no data for the host, and a host
 * with thousands of failed units. The pure parts (flags, window, loops) are tested directly.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SUMMARY_USAGE, parseSummaryArgs } from '../src/summary/args.ts';
import { TEST_NOW_ENV, queryTarget } from '../src/summary/command.ts';
import { findLoops } from '../src/summary/findings.ts';
import { EXIT_PROBLEMS, type Summary } from '../src/summary/model.ts';
import { GAP_QUERIES, SUMMARY_QUERIES, hostMatcher, planWindow, renderQuery, runQueries } from '../src/summary/queries.ts';
import { createPrometheusApi } from '../src/vm/prometheus-api.ts';
import { formatDuration } from '../src/duration.ts';
import { METRIC_NAMES } from '../src/metrics/definitions.ts';
import { runCli, skipReason } from './support/cli.ts';
import { startVictoria, victoriaUnavailable, type Victoria } from './support/victoria.ts';

const GOLDEN_DIR = new URL('fixtures/summary/', import.meta.url);
/** Read offline by test/summary-findings.test.ts. */
const RESULTS_FIXTURE = 'kai-server-24h.results.json';

function golden(name: string, actual: string): void {
  const url = new URL(name, GOLDEN_DIR);
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(GOLDEN_DIR, { recursive: true });
    writeFileSync(url, actual);
    return;
  }
  assert.equal(actual, readFileSync(url, 'utf8'), `golden ${name} (UPDATE_GOLDEN=1 rewrites it; review the diff)`);
}

// ---------------------------------------------------------------------------------------------
// Pure parts

test('flags: defaults, every value flag, and usage errors naming the flag', () => {
  const d = parseSummaryArgs([]);
  assert.equal(d.since, '24h');
  assert.equal(d.sinceSeconds, 86_400);
  assert.equal(d.host, undefined);
  assert.equal(d.format, 'text');
  assert.equal(d.timeoutMs, 10_000);
  assert.equal(d.limit, 20);
  assert.equal(d.intervalSeconds, 30);
  const a = parseSummaryArgs([
    '--since=1h30m',
    '--host',
    'kai',
    '--format',
    'markdown',
    '--limit',
    '0',
    '--timeout',
    '2s',
    '--interval',
    '1m',
    '--vm-url',
    'http://x:1',
  ]);
  assert.equal(a.sinceSeconds, 5400);
  assert.equal(a.host, 'kai');
  assert.equal(a.format, 'markdown');
  assert.equal(a.limit, 0);
  assert.equal(a.timeoutMs, 2000);
  assert.equal(a.intervalSeconds, 60);
  assert.equal(a.vmUrl, 'http://x:1');
  for (const [argv, pattern] of [
    [['--since', '5'], /--since/],
    [['--since', '40d'], /--since/],
    [['--format', 'html'], /--format/],
    [['--limit', '-1'], /--limit/],
    [['--timeout', '60s'], /--timeout/],
    [['--host', ''], /--host/],
    [['--bogus'], /unknown option --bogus/],
    [['--since'], /--since needs a value/],
  ] as const) {
    assert.throws(
      () => parseSummaryArgs(argv),
      (e: Error & { exitCode?: number }) => pattern.test(e.message) && e.exitCode === 2,
    );
  }
});

test('window: integral step, coarser for long windows, at most MAX_STEPS steps', () => {
  assert.deepEqual(planWindow('24h', 86_400, 1000_000.7, 30), {
    since: '24h',
    start: 1000_000 - 86_400,
    end: 1000_000,
    step: 30,
    intervalSeconds: 30,
  });
  const month = planWindow('31d', 31 * 86_400, 2e9, 30);
  assert.equal(month.step, 893);
  assert.ok((month.end - month.start) / month.step <= 3000 && month.end - month.start >= 31 * 86_400);
  const odd = planWindow('45s', 45, 100, 30);
  assert.equal(odd.end - odd.start, 60, 'the window is whole steps');
});

test('queries: only defined metric names, placeholders filled, hosts escaped as an anchored regex', () => {
  for (const [name, { query }] of Object.entries(SUMMARY_QUERIES)) {
    const metrics = [...query.matchAll(/\bsystemd_[a-z_]+/g)].map((m) => m[0]);
    assert.ok(metrics.length > 0, name);
    for (const m of metrics) assert.ok(METRIC_NAMES.has(m), `${name} uses ${m}, a defined metric`);
    const rendered = renderQuery(query, planWindow('24h', 86_400, 1e9, 30), 'a.b"c');
    assert.doesNotMatch(rendered, /\$/, `${name}: every placeholder filled`);
  }
  assert.equal(hostMatcher(undefined), '.+');
  assert.equal(hostMatcher('kai-server.lan'), 'kai-server\\\\.lan');
  assert.equal(hostMatcher('a"b'), 'a\\"b');
});

test('docs/summary.md shows every query as it is run, README "Daily summary" every flag of summary --help', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('## Daily summary');
  assert.ok(start >= 0, 'README has a "## Daily summary" section');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const docs = readFileSync(new URL('../docs/summary.md', import.meta.url), 'utf8');
  for (const [name, { query, kind }] of Object.entries({ ...SUMMARY_QUERIES, ...GAP_QUERIES })) {
    assert.ok(docs.includes(`| \`${query}\` | ${kind} |`), `docs/summary.md shows the ${name} query (${kind}): ${query}`);
  }
  assert.ok(section.includes('](docs/summary.md)'), 'README points at the queries');
  for (const flag of new Set([...SUMMARY_USAGE.matchAll(/--[a-z-]+/g)].map((m) => m[0]))) {
    assert.ok(section.includes(`\`${flag}`), `README documents summary ${flag}`);
  }
  assert.ok(
    !SUMMARY_USAGE.includes(TEST_NOW_ENV) && docs.includes(`\`${TEST_NOW_ENV}`),
    `${TEST_NOW_ENV} is a test hook: documented as such, not in --help`,
  );
  assert.throws(
    () => parseSummaryArgs(['--now', '1700000000']),
    /unknown option --now/,
    'the test hook is not a flag of the production parser',
  );
});

test('query target: the push endpoint scheme+host+port, or --vm-url; user:password becomes Basic auth', () => {
  assert.deepEqual(queryTarget(undefined, 'http://127.0.0.1:8428/opentelemetry/v1/metrics'), { url: 'http://127.0.0.1:8428', headers: {} });
  assert.deepEqual(queryTarget(undefined, 'https://u:p%40ss@vm.example.org/opentelemetry/v1/metrics'), {
    url: 'https://vm.example.org',
    headers: { Authorization: `Basic ${Buffer.from('u:p@ss').toString('base64')}` },
  });
  assert.equal(queryTarget('http://vmselect:8481/select/0/prometheus/', 'http://x/').url, 'http://vmselect:8481/select/0/prometheus');
  assert.throws(() => queryTarget('ftp://x', 'http://x/'), /--vm-url/);
});

test("restart loops: more than 3 restarts within 5 minutes (the alert's rule), merged while they continue", () => {
  const at = (min: number, value = 1): { time: number; value: number } => ({ time: min * 60, value });
  assert.deepEqual(findLoops([at(0), at(2), at(4), at(6), at(8)]), [], 'three within any 5 minutes is not a loop');
  assert.deepEqual(findLoops([at(0), at(1), at(2), at(3), at(4), at(10), at(30)]), [{ from: 0, to: 240, restarts: 5 }]);
  assert.deepEqual(findLoops([at(0, 5), at(60, 2), at(61, 3)]), [
    { from: 0, to: 0, restarts: 5 },
    { from: 3600, to: 3660, restarts: 5 },
  ]);
  assert.equal(formatDuration(93_784), '1d 2h');
  assert.equal(formatDuration(90), '1m 30s');
  assert.equal(formatDuration(3600), '1h');
});

// ---------------------------------------------------------------------------------------------
// A known day, backfilled

/** The report's window ends here: 2026-11-30 12:00:00 UTC. */
const END = Date.UTC(2026, 10, 30, 12) / 1000;
const D = Date.UTC(2026, 10, 30) / 1000; // that day's midnight
const START = END - 86_400;
const H = 3600;
const M = 60;
/** The history starts 2 h before the window (a multiple of 12 h minus 2 h: every job ran then). */
const FIRST = START - 2 * H;

/** Prometheus exposition lines with ms timestamps: what the exporter would have pushed every 30 s. */
function knownDay(): string {
  const lines: string[] = [];
  const put = (name: string, labels: Record<string, string>, value: number, t: number): void => {
    const l = Object.entries(labels)
      .map(([k, v]) => `${k}="${v}"`)
      .join(',');
    lines.push(`${name}{${l}} ${value} ${t * 1000}`);
  };
  for (let t = START - 2 * H; t <= END; t += 30) {
    // kai-server's exporter was silent from 07:00:00 to 07:10:00 (19 runs missing).
    if (!(t > D + 7 * H && t < D + 7 * H + 10 * M)) {
      const host = 'kai-server';
      const unit = (u: string, loaded = true): void =>
        put('systemd_unit_loaded', { unit: u, host, load_state: loaded ? 'loaded' : 'not-found' }, loaded ? 1 : 0, t);
      const failed = (u: string, result: string, v: number): void => put('systemd_unit_failed', { unit: u, host, result }, v, t);
      const service = (u: string, o: { failed?: string; exit?: number; restarts?: number }): void => {
        unit(u);
        failed(u, o.failed ?? 'success', o.failed ? 1 : 0);
        put('systemd_unit_last_exit_status', { unit: u, host }, o.exit ?? 0, t);
        put('systemd_unit_restart_count_total', { unit: u, host }, o.restarts ?? 0, t);
      };
      const timer = (u: string, interval: number, lastTrigger: number | undefined): void => {
        unit(u);
        failed(u, 'success', 0);
        put('systemd_timer_interval_seconds', { unit: u, host }, interval, t);
        if (lastTrigger !== undefined) {
          put('systemd_timer_last_trigger_timestamp_seconds', { unit: u, host }, lastTrigger, t);
          put('systemd_unit_seconds_since_active', { unit: u, host }, t - lastTrigger, t);
        }
      };
      /** What the exporter pushes for a timer's job: runs counted by result, the latest result, the remembered last success. */
      const job = (
        u: string,
        svc: string,
        runs: Record<string, number>,
        lastResult: string | undefined,
        lastSuccess: number | undefined,
      ): void => {
        for (const [result, n] of Object.entries(runs)) put('systemd_timer_runs_total', { unit: u, host, service: svc, result }, n, t);
        if (lastResult !== undefined) put('systemd_timer_last_result', { unit: u, host, service: svc, result: lastResult }, 1, t);
        if (lastSuccess !== undefined) put('systemd_timer_last_success_timestamp_seconds', { unit: u, host, service: svc }, lastSuccess, t);
      };
      service('ok.service', {});
      // 60 restarts 02:00-02:30, a manual restart at 10:00 resets NRestarts, two lone restarts, then 20 in the last 10 minutes.
      let restarts = 2;
      if (t > D + 2 * H) restarts += Math.min((t - D - 2 * H) / 30, 60);
      if (t >= D + 10 * H) restarts = (t >= D + 10 * H + 30 * M ? 1 : 0) + (t >= D + 11 * H ? 1 : 0);
      if (t > D + 11 * H + 50 * M) restarts += (t - D - 11 * H - 50 * M) / 30;
      service('crashloop.service', { restarts });
      service('failed.service', t >= D + 3 * H + 17 * M + 30 ? { failed: 'exit-code', exit: 3 } : {});
      service('flaky.service', t >= D + 5 * H && t <= D + 6 * H ? { failed: 'signal', exit: 9 } : {});
      service('oldfail.service', t <= START + H ? { failed: 'timeout', exit: 0 } : {});
      // Fired every hour until 06:00, then stopped: stale once its trigger is older than 2 h.
      timer('backup.timer', H, Math.min(Math.floor(t / H) * H, D + 6 * H));
      timer('tick.timer', 300, Math.floor(t / 300) * 300);
      timer('weekly.timer', 7 * 86_400, undefined);
      timer('hourly-new.timer', H, undefined);
      // tick.service succeeds on every run (every 5 minutes, from the start of the history).
      const ticks = Math.floor((t - FIRST) / 300) + 1;
      job('tick.timer', 'tick.service', { success: ticks }, 'success', Math.floor(t / 300) * 300);
      // pull.service: every 15 minutes, failing since before the history (7 successes long
      // ago, the last one remembered); one run, at 04:00, was killed by a signal.
      timer('pull.timer', 900, Math.floor(t / 900) * 900);
      const pulls = Math.floor((t - FIRST) / 900) + 1;
      const killed = t >= D + 4 * H ? 1 : 0;
      job(
        'pull.timer',
        'pull.service',
        { success: 7, 'exit-code': pulls - killed, ...(killed ? { signal: killed } : {}) },
        t >= D + 4 * H && t < D + 4 * H + 900 ? 'signal' : 'exit-code',
        START - 3 * H,
      );
      // sync.service: every 10 minutes, three failed runs (01:00, 01:10, 08:00).
      timer('sync.timer', 600, Math.floor(t / 600) * 600);
      const syncFailedRuns = [D + H, D + H + 10 * M, D + 8 * H];
      const syncRuns = Math.floor((t - FIRST) / 600) + 1;
      const syncFailed = syncFailedRuns.filter((r) => r <= t).length;
      const latestSync = Math.floor(t / 600) * 600;
      let lastGoodSync = latestSync;
      while (syncFailedRuns.includes(lastGoodSync)) lastGoodSync -= 600;
      job(
        'sync.timer',
        'sync.service',
        { success: syncRuns - syncFailed, ...(syncFailed > 0 ? { 'exit-code': syncFailed } : {}) },
        syncFailedRuns.includes(latestSync) ? 'exit-code' : 'success',
        lastGoodSync,
      );
      // Failures as PID 1's journal gives them: every crash of crashloop.service (one per
      // restart), failed.service at 03:17:30, flaky.service at 05:00; a failed reload of
      // flaky.service at 06:30, a good one at 06:45.
      const burst = t > D + 11 * H + 50 * M ? (t - D - 11 * H - 50 * M) / 30 : 0;
      const crashes = Math.min(Math.max(0, (t - D - 2 * H) / 30), 60) + burst;
      const lastCrash = crashes <= 0 ? undefined : burst > 0 ? t : Math.min(t, D + 2 * H + 30 * M);
      const failures = (u: string, byResult: Record<string, number>, last: number | undefined): void => {
        for (const [result, n] of Object.entries(byResult)) put('systemd_unit_failures_total', { unit: u, host, result }, n, t);
        if (last !== undefined) put('systemd_unit_last_failure_timestamp_seconds', { unit: u, host }, last, t);
      };
      if (crashes > 0) failures('crashloop.service', { 'exit-code': crashes }, lastCrash);
      if (t >= D + 3 * H + 17 * M + 30) failures('failed.service', { 'exit-code': 1 }, D + 3 * H + 17 * M + 30);
      if (t >= D + 5 * H) failures('flaky.service', { signal: 1 }, D + 5 * H);
      if (t >= D + 6 * H + 30 * M) {
        put('systemd_unit_reloads_total', { unit: 'flaky.service', host, result: 'failed' }, 1, t);
        if (t >= D + 6 * H + 45 * M) put('systemd_unit_reloads_total', { unit: 'flaky.service', host, result: 'done' }, 1, t);
      }
      // mirror.service: every 30 minutes, every start skipped by an unmet condition since before the history.
      timer('mirror.timer', 1800, Math.floor(t / 1800) * 1800);
      job('mirror.timer', 'mirror.service', { success: 3, skipped: Math.floor((t - FIRST) / 1800) + 1 }, 'skipped', START - 5 * H);
      // weekly.timer never fired: its job's success counter is there (0) from the first run.
      job('weekly.timer', 'weekly.service', { success: 0 }, undefined, undefined);
      unit('gone.service', false);
      // Failed outside the allowlist from 09:00: only systemd_unit_failed.
      if (t >= D + 9 * H) failed('systemd-tmpfiles-clean.service', 'exit-code', 1);
      put('systemd_heartbeat_units', { host }, 10, t);
      put('systemd_heartbeat_last_run_timestamp_seconds', { host }, t, t);
    }
    {
      const host = 'web-1';
      put('systemd_unit_loaded', { unit: 'nginx.service', host, load_state: 'loaded' }, 1, t);
      put('systemd_unit_failed', { unit: 'nginx.service', host, result: 'success' }, 0, t);
      put('systemd_unit_restart_count_total', { unit: 'nginx.service', host }, 4, t);
      put('systemd_unit_last_exit_status', { unit: 'nginx.service', host }, 0, t);
      put('systemd_unit_loaded', { unit: 'certbot.timer', host, load_state: 'loaded' }, 1, t);
      const trigger = Math.floor(t / (12 * H)) * 12 * H;
      put('systemd_timer_last_trigger_timestamp_seconds', { unit: 'certbot.timer', host }, trigger, t);
      put('systemd_unit_seconds_since_active', { unit: 'certbot.timer', host }, t - trigger, t);
      put('systemd_timer_interval_seconds', { unit: 'certbot.timer', host }, 12 * H, t);
      put(
        'systemd_timer_runs_total',
        { unit: 'certbot.timer', host, service: 'certbot.service', result: 'success' },
        Math.floor((t - FIRST) / (12 * H)) + 1,
        t,
      );
      put('systemd_timer_last_result', { unit: 'certbot.timer', host, service: 'certbot.service', result: 'success' }, 1, t);
      put('systemd_timer_last_success_timestamp_seconds', { unit: 'certbot.timer', host, service: 'certbot.service' }, trigger, t);
      put('systemd_heartbeat_units', { host }, 2, t);
      put('systemd_heartbeat_last_run_timestamp_seconds', { host }, t, t);
    }
  }
  return lines.join('\n');
}

/** A host with `count` failed units, every 30 s for the last 10 minutes before END. */
function bigHost(count: number): string {
  const lines: string[] = [];
  for (let t = END - 600; t <= END; t += 30) {
    for (let i = 0; i < count; i++) {
      const unit = `worker-${String(i).padStart(4, '0')}.service`;
      lines.push(`systemd_unit_failed{unit="${unit}",host="big",result="exit-code"} 1 ${t * 1000}`);
    }
    lines.push(`systemd_heartbeat_units{host="big"} ${count} ${t * 1000}`);
    lines.push(`systemd_heartbeat_last_run_timestamp_seconds{host="big"} ${t} ${t * 1000}`);
  }
  return lines.join('\n');
}

const reason = skipReason(victoriaUnavailable());

describe('summary against a real VictoriaMetrics with a known day', { skip: reason }, () => {
  let vm: Victoria;
  before(async () => {
    vm = await startVictoria();
    await vm.importPrometheus(knownDay());
    await vm.importPrometheus(bigHost(2500));
    await vm.flush();
  });
  after(async () => {
    await vm?.stop();
  });

  const summary = (args: string[], env: Record<string, string> = {}) =>
    runCli(['summary', '--vm-url', vm.url, ...args], { [TEST_NOW_ENV]: String(END), ...env }, 60_000);

  test('json: the exact findings for kai-server, and web-1 healthy', async () => {
    const r = await summary(['--since', '24h', '--format', 'json']);
    assert.equal(r.stderr, '');
    assert.equal(r.code, EXIT_PROBLEMS);
    const s = JSON.parse(r.stdout) as Summary;
    // `big` only has data in the last 10 minutes: it is a host of the window too.
    assert.deepEqual(
      s.hosts.map((h) => h.host),
      ['big', 'kai-server', 'web-1'],
    );
    assert.deepEqual(s.window, { since: '24h', start: START, end: END, step: 30, intervalSeconds: 30 });
    const kai = s.hosts.find((h) => h.host === 'kai-server');
    assert.ok(kai);
    assert.equal(kai.noData, false);
    assert.equal(kai.units, 10);
    assert.deepEqual(kai.failed, [
      {
        unit: 'failed.service',
        result: 'exit-code',
        exitStatus: 3,
        firstFailedAt: D + 3 * H + 17 * M + 30,
        lastFailedAt: END,
        failedBeforeWindow: false,
        stillFailed: true,
      },
      {
        unit: 'systemd-tmpfiles-clean.service',
        result: 'exit-code',
        exitStatus: null,
        firstFailedAt: D + 9 * H,
        lastFailedAt: END,
        failedBeforeWindow: false,
        stillFailed: true,
      },
      {
        unit: 'flaky.service',
        result: 'signal',
        exitStatus: 9,
        firstFailedAt: D + 5 * H,
        lastFailedAt: D + 6 * H,
        failedBeforeWindow: false,
        stillFailed: false,
      },
      {
        unit: 'oldfail.service',
        result: 'timeout',
        exitStatus: 0,
        firstFailedAt: START + 30,
        lastFailedAt: START + H,
        failedBeforeWindow: true,
        stillFailed: false,
      },
    ]);
    assert.deepEqual(kai.restarts, [
      {
        unit: 'crashloop.service',
        restarts: 82,
        lastRestartAt: END,
        loops: [
          { from: D + 2 * H + 30, to: D + 2 * H + 30 * M, restarts: 60 },
          { from: D + 11 * H + 50 * M + 30, to: END, restarts: 20 },
        ],
        looping: true,
      },
    ]);
    assert.deepEqual(kai.timers, [
      {
        unit: 'backup.timer',
        state: 'stale',
        lastTriggerAt: D + 6 * H,
        intervalSeconds: H,
        staleFrom: D + 8 * H + 30,
        staleTo: END,
        stillStale: true,
        problem: true,
      },
      {
        unit: 'hourly-new.timer',
        state: 'never-fired',
        lastTriggerAt: null,
        intervalSeconds: H,
        staleFrom: null,
        staleTo: null,
        stillStale: false,
        problem: true,
      },
      {
        unit: 'weekly.timer',
        state: 'never-fired',
        lastTriggerAt: null,
        intervalSeconds: 7 * 86_400,
        staleFrom: null,
        staleTo: null,
        stillStale: false,
        problem: false,
      },
    ]);
    // Runs in the window (START, END]: tick every 5 min = 288; pull every 15 min = 96, all
    // failed (one by a signal) = a problem; sync every 10 min = 144, 3 failed; weekly none.
    assert.deepEqual(kai.timerJobs, [
      {
        unit: 'pull.timer',
        service: 'pull.service',
        runs: 96,
        successes: 0,
        failures: 96,
        failuresByResult: { 'exit-code': 95, signal: 1 },
        skipped: 0,
        lastSuccessAt: START - 3 * H,
        lastResult: 'exit-code',
        problem: true,
      },
      {
        unit: 'mirror.timer',
        service: 'mirror.service',
        runs: 0,
        successes: 0,
        failures: 0,
        failuresByResult: {},
        skipped: 48,
        lastSuccessAt: START - 5 * H,
        lastResult: 'skipped',
        problem: true,
      },
      {
        unit: 'sync.timer',
        service: 'sync.service',
        runs: 144,
        successes: 141,
        failures: 3,
        failuresByResult: { 'exit-code': 3 },
        skipped: 0,
        lastSuccessAt: END,
        lastResult: 'success',
        problem: false,
      },
      {
        unit: 'tick.timer',
        service: 'tick.service',
        runs: 288,
        successes: 288,
        failures: 0,
        failuresByResult: {},
        skipped: 0,
        lastSuccessAt: END,
        lastResult: 'success',
        problem: false,
      },
      {
        unit: 'weekly.timer',
        service: 'weekly.service',
        runs: 0,
        successes: 0,
        failures: 0,
        failuresByResult: {},
        skipped: 0,
        lastSuccessAt: null,
        lastResult: null,
        problem: false,
      },
    ]);
    // Every failure PID 1 journaled, by result, with the latest one's time; the failed reload.
    assert.deepEqual(kai.failures, [
      { unit: 'crashloop.service', failures: 80, byResult: { 'exit-code': 80 }, lastFailureAt: END },
      { unit: 'failed.service', failures: 1, byResult: { 'exit-code': 1 }, lastFailureAt: D + 3 * H + 17 * M + 30 },
      { unit: 'flaky.service', failures: 1, byResult: { signal: 1 }, lastFailureAt: D + 5 * H },
    ]);
    assert.deepEqual(kai.failedReloads, [{ unit: 'flaky.service', failed: 1 }]);
    assert.deepEqual(kai.missing, [
      {
        unit: 'gone.service',
        loadState: 'not-found',
        firstSeenAt: START + 30,
        lastSeenAt: END,
        missingBeforeWindow: true,
        stillMissing: true,
      },
    ]);
    assert.deepEqual(kai.coverage, {
      runs: 2880 - 19,
      expectedRuns: 2880,
      fraction: (2880 - 19) / 2880,
      firstRunAt: null,
      lastRunAt: END,
      gaps: [{ from: D + 7 * H, to: D + 7 * H + 10 * M, seconds: 600, ongoing: false }],
      problem: true,
    });
    // 4 failed + 1 restarting + 2 timers + 2 timer jobs never succeeding (one failing, one skipped)
    // + 3 units with failures + 1 failed reload + 1 missing + coverage
    assert.equal(kai.problems, 15);
    const web = s.hosts.find((h) => h.host === 'web-1');
    assert.ok(web);
    assert.equal(web.problems, 0, JSON.stringify(web));
    assert.equal(web.coverage.runs, 2880);
    assert.deepEqual(
      web.timerJobs.map((j) => [j.unit, j.runs, j.successes, j.lastSuccessAt, j.problem]),
      [['certbot.timer', 2, 2, END, false]],
      'certbot runs at 00:00 and 12:00',
    );
    assert.deepEqual(web.coverage.gaps, []);
  });

  test('text and markdown: golden files for kai-server', async () => {
    for (const [format, file] of [
      ['text', 'kai-server-24h.txt'],
      ['markdown', 'kai-server-24h.md'],
    ] as const) {
      const r = await summary(['--host', 'kai-server', '--format', format]);
      assert.equal(r.stderr, '');
      assert.equal(r.code, EXIT_PROBLEMS);
      assert.match(r.stdout, /^(\*\*)?15 problems on kai-server in the last 24h/);
      golden(file, r.stdout);
    }
  });

  test('the recorded query results (test/fixtures/summary/kai-server-24h.results.json) are what VictoriaMetrics answers', async () => {
    const window = planWindow('24h', 86_400, END, 30);
    const api = createPrometheusApi({ baseUrl: vm.url, headers: {}, signal: new AbortController().signal, timeoutMs: 30_000 });
    const results = await runQueries(api, window, 'kai-server');
    const recorded = {
      recorded:
        'runQueries() of src/summary/queries.ts against a real VictoriaMetrics 1.112.0 holding the known day of test/summary.test.ts; UPDATE_GOLDEN=1 npm test -- test/summary.test.ts rewrites it',
      host: 'kai-server',
      window,
      results,
    };
    golden(RESULTS_FIXTURE, `${JSON.stringify(recorded)}\n`);
  });

  test('a healthy host: one verdict line, exit 0', async () => {
    const r = await summary(['--host', 'web-1']);
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    golden('web-1-24h.txt', r.stdout);
    assert.equal(r.stdout.split('\n')[0], 'all 2 units healthy on web-1 in the last 24h');
  });

  test('a shorter window sees only its part of the day', async () => {
    const r = await summary(['--host', 'kai-server', '--since', '1h', '--format', 'json']);
    assert.equal(r.code, EXIT_PROBLEMS);
    const kai = (JSON.parse(r.stdout) as Summary).hosts[0];
    assert.ok(kai);
    assert.deepEqual(
      kai.failed.map((f) => [f.unit, f.failedBeforeWindow, f.stillFailed]),
      [
        ['failed.service', true, true],
        ['systemd-tmpfiles-clean.service', true, true],
      ],
    );
    assert.deepEqual(
      kai.restarts.map((u) => [u.unit, u.restarts, u.loops.length]),
      [['crashloop.service', 20, 1]],
      "the 20 of the last loop; the lone restart at 11:00:00 is the window's start, outside (start, end]",
    );
    assert.deepEqual(
      kai.timerJobs.map((j) => [j.unit, j.runs, j.failures, j.problem]),
      [
        ['pull.timer', 4, 4, true],
        ['mirror.timer', 0, 0, true],
        ['sync.timer', 6, 0, false],
        ['tick.timer', 12, 0, false],
        ['weekly.timer', 0, 0, false],
      ],
      'runs counted in the hour only; pull.service failed all 4',
    );
    assert.deepEqual(
      kai.failures.map((f) => [f.unit, f.failures]),
      [['crashloop.service', 20]],
      'only the failures inside the hour',
    );
    assert.deepEqual(kai.failedReloads, []);
    assert.deepEqual(kai.coverage.gaps, []);
    assert.equal(kai.coverage.runs, 120);
  });

  test('no data for the host: says so, exit 3', async () => {
    const r = await summary(['--host', 'nowhere']);
    assert.equal(r.code, EXIT_PROBLEMS);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout.split('\n')[0], 'no data for host nowhere in the last 24h');
    const j = JSON.parse((await summary(['--host', 'nowhere', '--format', 'json'])).stdout) as Summary;
    assert.equal(j.hosts[0]?.noData, true);
    assert.equal(j.problems, 1);
  });

  test('no data from any host (a window before the history): says so, exit 3', async () => {
    const r = await runCli(['summary', '--vm-url', vm.url, '--since', '1h'], { [TEST_NOW_ENV]: String(START - 3 * H) }, 60_000);
    assert.equal(r.code, EXIT_PROBLEMS);
    assert.equal(r.stdout.split('\n')[0], 'no data from any host in the last 1h');
  });

  test('thousands of failed units: limited rows with a count; json lists all', async () => {
    const text = await summary(['--host', 'big', '--since', '10m']);
    assert.equal(text.code, EXIT_PROBLEMS);
    const lines = text.stdout.split('\n');
    assert.equal(lines[0], '2500 problems on big in the last 10m');
    assert.ok(lines.includes('  failed units: 2500'));
    assert.equal(lines.filter((l) => /^ {4}worker-\d{4}\.service: /.test(l)).length, 20);
    assert.ok(lines.includes('    ... and 2480 more (--limit 0 shows all, --format json lists all)'));
    const md = await summary(['--host', 'big', '--since', '10m', '--format', 'markdown', '--limit', '5']);
    assert.equal(md.stdout.split('\n').filter((l) => l.startsWith('| `worker-')).length, 5);
    assert.match(md.stdout, /… and 2495 more/);
    const json = JSON.parse((await summary(['--host', 'big', '--since', '10m', '--format', 'json'])).stdout) as Summary;
    assert.equal(json.hosts[0]?.failed.length, 2500);
  });

  test('basic auth from --vm-url and a bearer header reach VictoriaMetrics', async () => {
    // VictoriaMetrics started with -httpAuth.* would refuse without them; here a recording proxy checks what is sent.
    const seen: string[] = [];
    const proxy = await listen((socket) => {
      socket.once('data', (chunk: Buffer) => {
        seen.push(chunk.toString('latin1'));
        socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\nUnauthorized');
      });
    });
    try {
      const url = `http://ops:s%3Dcret@127.0.0.1:${port(proxy)}`;
      const r = await runCli(['summary', '--vm-url', url, '--header', 'X-Scope=team1'], {}, 30_000);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /refused \/api\/v1\/query(_range)? \(HTTP 401\): .*\(check the Authorization header or credential\)/);
      assert.doesNotMatch(r.stderr, /s=cret|s%3Dcret|ops:/, 'no credentials in the message');
      assert.ok(seen.length > 0);
      for (const request of seen) {
        assert.match(request, new RegExp(`authorization: Basic ${Buffer.from('ops:s=cret').toString('base64')}`, 'i'));
        assert.match(request, /x-scope: team1/i);
      }
      const bearer = await runCli(
        ['summary', '--vm-url', `http://127.0.0.1:${port(proxy)}`],
        { CREDENTIALS_DIRECTORY: credentialsDir('t0ken') },
        30_000,
      );
      assert.equal(bearer.code, 1);
      assert.match(seen.at(-1) ?? '', /authorization: Bearer t0ken/i);
    } finally {
      await close(proxy);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// VictoriaMetrics unreachable

function listen(onConnection: (socket: Socket) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => {
      // The CLI cancels its other queries after the first failure: resets are expected.
      socket.on('error', () => undefined);
      onConnection(socket);
    });
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function port(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function credentialsDir(token: string): string {
  const dir = `${process.env.TMPDIR ?? '/tmp'}/hb-summary-cred-${process.pid}`;
  mkdirSync(dir, { recursive: true });
  after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(`${dir}/otlp-token`, token);
  return dir;
}

describe('VictoriaMetrics down', () => {
  test('connection refused: a clear line naming the URL, exit 1', async () => {
    const server = await listen(() => undefined);
    const p = port(server);
    await close(server); // the port was just free; nothing listens on it now
    const r = await runCli(['summary', '--vm-url', `http://127.0.0.1:${p}`], {}, 30_000);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      new RegExp(
        `^systemd-heartbeat: error: VictoriaMetrics at http://127\\.0\\.0\\.1:${p} cannot be queried: .*ECONNREFUSED.*\\(check --vm-url\\)\\n$`,
      ),
    );
  });

  test('accepts but never answers: exit 1 when --timeout runs out, saying so', async () => {
    const sockets: Socket[] = [];
    const server = await listen((socket) => sockets.push(socket));
    try {
      // The CLI process itself is bounded by runCli's 30 s: a summary that ignored --timeout would be killed (code null).
      const r = await runCli(['summary', '--vm-url', `http://127.0.0.1:${port(server)}`, '--timeout', '1s'], {}, 30_000);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /VictoriaMetrics at http:\/\/127\.0\.0\.1:\d+ did not answer within 1000 ms/);
      assert.ok(sockets.length > 0, 'the queries reached the server');
    } finally {
      for (const s of sockets) s.destroy();
      await close(server);
    }
  });
});
