/**
 * `summary` over a fleet (issue 22): 1000 hosts x 24 h of heartbeats backfilled into a real
 * VictoriaMetrics, 20 with a failed unit and 10 with a 40-minute silence. The built CLI finds
 * exactly those, the same as the step-by-step computation of every host's coverage, lists the
 * healthy hosts in one line, and its wall time and peak RSS are printed (the bounds are
 * `npm run bench:fleet`'s, not this test's). And `--timeout 2s` against a server that answers
 * slowly ends within 2.5 s, every time.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildSummary } from '../src/summary/findings.ts';
import { GAP_QUERIES, hostsMatcher, planWindow, renderQuery, runQueries } from '../src/summary/queries.ts';
import type { Summary } from '../src/summary/model.ts';
import { createPrometheusApi, type RangeSeries } from '../src/vm/prometheus-api.ts';
import { CLI, assertBuilt, runCli, skipReason } from './support/cli.ts';
import { FLEET, backfillFleet, fleetEnd, hostName, isFailing, isSilent } from './support/fleet.ts';
import { startVictoria, victoriaUnavailable, type Victoria } from './support/victoria.ts';

/** One run of the built CLI under scripts/bench/rusage.py: its output, wall time and peak RSS. */
function measured(args: readonly string[], env: Record<string, string>): { stdout: string; code: number; wallMs: number; rssMb: number } {
  const dir = mkdtempSync(join(tmpdir(), 'hb-fleet-'));
  try {
    const job = {
      argv: [process.execPath, CLI, ...args],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      stdout: join(dir, 'out'),
      stderr: join(dir, 'err'),
    };
    const r = spawnSync('python3', [new URL('../scripts/bench/rusage.py', import.meta.url).pathname], {
      input: `${JSON.stringify(job)}\n`,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const sample = JSON.parse(r.stdout) as { status: number; wall_ms: number; maxrss_kb: number };
    assert.equal(readFileSync(join(dir, 'err'), 'utf8'), '', 'nothing on stderr');
    return { stdout: readFileSync(join(dir, 'out'), 'utf8'), code: sample.status, wallMs: sample.wall_ms, rssMb: sample.maxrss_kb / 1024 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('summary over 1000 hosts', { skip: skipReason(victoriaUnavailable()) }, () => {
  let vm: Victoria;
  const end = fleetEnd();
  before(async () => {
    assertBuilt();
    vm = await startVictoria();
    await backfillFleet(vm, end);
  });
  after(async () => {
    await vm?.stop();
  });

  test('exactly the failing and the silent hosts, as the step-by-step coverage finds them; healthy hosts in one line', async (t) => {
    const env = { SYSTEMD_HEARTBEAT_TEST_NOW: String(end) };
    const json = measured(['summary', '--vm-url', vm.url, '--format', 'json', '--timeout', '25s'], env);
    t.diagnostic(
      `summary --format json over ${FLEET.hosts} hosts x 24 h: ${json.wallMs.toFixed(0)} ms wall, ${json.rssMb.toFixed(1)} MB peak RSS`,
    );
    assert.equal(json.code, 3);
    const s = JSON.parse(json.stdout) as Summary;
    assert.equal(s.hosts.length, FLEET.hosts);
    const troubled = s.hosts
      .filter((h) => h.problems > 0)
      .map((h) => h.host)
      .sort();
    const expected = Array.from({ length: FLEET.hosts }, (_, i) => i)
      .filter((i) => isFailing(i) || isSilent(i))
      .map(hostName);
    assert.deepEqual(troubled, expected);
    for (const h of s.hosts) {
      const i = Number(h.host.slice(-4));
      if (isFailing(i))
        assert.deepEqual(
          h.failed.map((f) => [f.unit, f.result, f.stillFailed]),
          [['bad.service', 'exit-code', true]],
          h.host,
        );
      if (isSilent(i)) {
        assert.deepEqual(
          h.coverage.gaps.map((g) => [g.seconds, g.ongoing]),
          [[40 * 60, false]],
          h.host,
        );
      } else assert.deepEqual(h.coverage.gaps, [], h.host);
    }
    assert.equal(s.problems, FLEET.failing + FLEET.silent);

    // The same findings as fetching every host's runs step by step (the computation before).
    const window = planWindow('24h', 86_400, end, 30);
    const controller = new AbortController();
    const api = createPrometheusApi({ baseUrl: vm.url, headers: {}, signal: controller.signal, timeoutMs: 60_000 });
    const results = await runQueries(api, window, undefined);
    // Every host's runs step by step (100 hosts a request: all at once is over the answer cap),
    // and no aggregate: coverage computed for every host as it was before.
    const firstRuns: RangeSeries[] = [];
    const lastRuns: RangeSeries[] = [];
    for (let i = 0; i < FLEET.hosts; i += 100) {
      const hosts = Array.from({ length: 100 }, (_, j) => hostName(i + j));
      for (const [name, out] of [
        ['firstRuns', firstRuns],
        ['lastRuns', lastRuns],
      ] as const) {
        const q = renderQuery(GAP_QUERIES[name].query, window, undefined).replace('host=~".+"', `host=~"${hostsMatcher(hosts)}"`);
        out.push(...(await api.queryRange(q, window.start, window.end, window.step)));
      }
    }
    const none = { coverageFirst: [], coverageLast: [], coverageCovered: [], coverageBefore: [] };
    const exact = buildSummary({ ...results, ...none, firstRuns, lastRuns }, window, undefined);
    assert.deepEqual(s, JSON.parse(JSON.stringify(exact)));

    const text = measured(['summary', '--vm-url', vm.url, '--timeout', '25s'], env);
    t.diagnostic(
      `summary (text): ${text.wallMs.toFixed(0)} ms wall, ${text.rssMb.toFixed(1)} MB peak RSS, ${text.stdout.split('\n').length} lines`,
    );
    assert.match(
      text.stdout,
      new RegExp(`^${FLEET.hosts - expected.length} other hosts healthy: fleet-0030, fleet-0031, .*\\(--verbose lists all\\)$`, 'm'),
    );
    assert.ok(text.stdout.split('\n').length < 40 * (expected.length + 2), 'grows with the problems, not with the hosts');
    const verbose = measured(['summary', '--vm-url', vm.url, '--timeout', '25s', '--verbose'], env);
    assert.match(verbose.stdout, /^fleet-0999: healthy, 3 units watched$/m, '--verbose lists every host');
  });
});

describe('summary --timeout against a slow server', () => {
  let server: Server;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  before(async () => {
    // Answers every query with a header, then a body byte every 200 ms, for ever.
    server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const t = setInterval(() => res.write(' '), 200);
      timers.add(t);
      res.on('close', () => clearInterval(t));
    });
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    for (const t of timers) clearInterval(t);
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('--timeout 2s ends within 2.5 s, five times in a row', async () => {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const r = await runCli(['summary', '--vm-url', url, '--timeout', '2s'], {}, 30_000);
      const ms = performance.now() - started;
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /did not answer within 2000 ms|within 2s/);
      // 2 s of queries plus the process's own start (~0.1 s here); the bound is 2.5 s.
      assert.ok(ms < 2500, `run ${i + 1}: ${ms.toFixed(0)} ms`);
    }
  });
});
