/**
 * Nothing lost on the way (issue 17), through the built CLI against a real VictoriaMetrics and
 * real loopback servers that misbehave on purpose: a receiver that refuses every push (a wrong
 * path, a proxy's 401/403/404/413) drops nothing; one that takes pushes but refuses one
 * payload drops that one only, counted; a receiver that dribbles its answer ends the run
 * within its bound with the run spooled; bad backlog entries do not hold the run's own push.
 * The systemctl edge replays recorded systemd 252 output.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeFrame, encodeFrame } from '../src/state/frame.ts';
import { runCli, skipReason } from './support/cli.ts';
import { createReplay, type Replay } from './support/replay.ts';
import { startVictoria, victoriaUnavailable, type Victoria } from './support/victoria.ts';

const seed = (name: string): string => readFileSync(new URL(`fixtures/seed-252/${name}`, import.meta.url), 'utf8');
const TIMEOUT_MS = 2500;
/** Generous: the bound is TIMEOUT_MS (+500 ms guard); the rest is process start on a slow machine. */
const BOUND_MS = TIMEOUT_MS + 4000;

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;

/** A loopback HTTP server whose answer `handler` decides; closes its sockets on stop. */
async function startServer(handler: () => Handler): Promise<{ url: string; stop: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler()(req, Buffer.concat(chunks), res));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Passes a request on to VictoriaMetrics and its answer back. */
function forward(vm: Victoria, req: IncomingMessage, body: Buffer, res: ServerResponse): void {
  const upstream = request(`${vm.url}${req.url ?? '/'}`, { method: req.method, headers: req.headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', () => res.writeHead(502).end('upstream failed'));
  upstream.end(body);
}

describe('delivery: nothing lost', { skip: skipReason(victoriaUnavailable()) }, () => {
  let vm: Victoria;
  let replay: Replay;
  const dirs: string[] = [];
  const stops: Array<() => Promise<void>> = [];
  before(async () => {
    replay = createReplay({ listUnits: seed('list-units-all-output-json.txt'), show: seed('show-props-all-timestamp-unix.txt') });
    vm = await startVictoria();
  });
  after(async () => {
    for (const stop of stops) await stop();
    await vm?.stop();
    replay?.remove();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  function stateDir(): string {
    const d = mkdtempSync(join(tmpdir(), 'heartbeat-delivery-'));
    dirs.push(d);
    return d;
  }
  const run = (host: string, state: string, endpoint: string) =>
    runCli(['--host', host, '-u', 'hb-ok.service', '-u', 'hb-crashloop.service', '--timeout', `${TIMEOUT_MS}ms`], {
      SYSTEMD_HEARTBEAT_SYSTEMCTL: replay.systemctl,
      SYSTEMD_HEARTBEAT_STATE_DIR: state,
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: endpoint,
    });
  const spooled = (state: string): string[] => readdirSync(join(state, 'spool')).filter((f) => f.endsWith('.run'));
  async function heartbeats(host: string, expected: number): Promise<number[]> {
    const [series] = await vm.exportWhen(
      `systemd_heartbeat_last_run_timestamp_seconds{host="${host}"}`,
      ([s]) => (s?.values.length ?? 0) >= expected,
    );
    // Each sample's timestamp is its own run's collection time, which is also its value.
    for (const [i, t] of (series?.timestamps ?? []).entries()) assert.ok(Math.abs(t - (series?.values[i] as number) * 1000) < 2);
    return series?.timestamps ?? [];
  }

  test('a receiver that refuses every push (wrong path, 401, 403, 404, 413) drops nothing: all runs arrive once it is fixed, each failing run said one line', async () => {
    const state = stateDir();
    let answer: Handler = () => {};
    const bad = await startServer(() => answer);
    stops.push(bad.stop);
    for (let i = 0; i < 3; i++) assert.equal((await run('refused', state, 'http://127.0.0.1:1/opentelemetry/v1/metrics')).code, 1);
    assert.equal(spooled(state).length, 3);
    const refusals: Array<[string, Handler, RegExp]> = [
      [
        'VictoriaMetrics, wrong path',
        (_q, _b, r) =>
          r.writeHead(400).end('remoteAddr: "127.0.0.1:1234"; requestURI: /v1/metrics; unsupported path requested: "/v1/metrics"'),
        /HTTP 400 .*unsupported path requested.*VictoriaMetrics takes OTLP at \/opentelemetry\/v1\/metrics: set OTEL_EXPORTER_OTLP_METRICS_ENDPOINT/,
      ],
      ['auth proxy, 401', (_q, _b, r) => r.writeHead(401).end('missing token'), /HTTP 401 .*check the token/],
      ['auth proxy, 403', (_q, _b, r) => r.writeHead(403).end('forbidden'), /HTTP 403 .*check the token/],
      ['proxy, 404', (_q, _b, r) => r.writeHead(404).end('not found'), /HTTP 404 .*check the endpoint path/],
      ['proxy, 413', (_q, _b, r) => r.writeHead(413).end('too large'), /HTTP 413/],
    ];
    for (const [i, [name, handler, line]] of refusals.entries()) {
      answer = handler;
      const r = await run('refused', state, `${bad.url}/v1/metrics`);
      assert.equal(r.code, 1, `${name}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${name}: one line, got:\n${r.stderr}`);
      assert.match(lines[0] as string, line, name);
      assert.match(lines[0] as string, new RegExp(`kept in .*\\(${4 + i} waiting\\)`), name);
      assert.doesNotMatch(r.stderr, /dropped/);
    }
    assert.equal(spooled(state).length, 8, 'nothing dropped while every push was refused');
    const ok = await run('refused', state, vm.otlpUrl);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /spool: pushed 8 earlier run\(s\) after this one/);
    assert.equal((await heartbeats('refused', 9)).length, 9, 'the 8 refused runs and the one that pushed');
    assert.deepEqual(spooled(state), []);
  });

  test('a receiver that takes pushes but refuses one payload drops that one run only, counted in systemd_heartbeat_spool_dropped_runs_total', async () => {
    const state = stateDir();
    // Refuses any request carrying the marker host; forwards the rest to VictoriaMetrics.
    const proxy = await startServer(() => (req, body, res) => {
      if (body.includes('poisoned')) res.writeHead(400).end('cannot parse: poisoned payload');
      else forward(vm, req, body, res);
    });
    stops.push(proxy.stop);
    for (let i = 0; i < 3; i++) assert.equal((await run('payload', state, 'http://127.0.0.1:1/opentelemetry/v1/metrics')).code, 1);
    // The middle run becomes one the receiver will never take (same shape, another host).
    const files = spooled(state).sort();
    const middle = join(state, 'spool', files[1] as string);
    const frame = decodeFrame(readFileSync(middle));
    assert.ok('payload' in frame);
    writeFileSync(middle, encodeFrame(frame.payload.replaceAll('"host":"payload"', '"host":"poisoned"')));

    const r = await run('payload', state, `${proxy.url}/opentelemetry/v1/metrics`);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 2, `one line for the drop, one for the replay:\n${r.stderr}`);
    assert.match(
      lines[0] as string,
      /spool: dropped 1 earlier run\(s\) the receiver refuses while it takes this run: .*HTTP 400 .*poisoned payload/,
    );
    assert.match(lines[1] as string, /spool: pushed 2 earlier run\(s\) after this one/);
    assert.deepEqual(spooled(state), []);
    assert.equal(JSON.parse(readFileSync(join(state, 'state.json'), 'utf8')).spoolDropped, 1);
    assert.equal((await run('payload', state, vm.otlpUrl)).code, 0);
    assert.equal((await heartbeats('payload', 4)).length, 4, 'two spooled runs and two pushed directly');
    await vm.flush();
    const dropped = await vm.query('systemd_heartbeat_spool_dropped_runs_total{host="payload"}', Date.now() + 2000);
    assert.deepEqual(
      dropped.map((s) => s.value),
      [1],
    );
  });

  // Answers that never end: a status line, then a header line (or a body byte) every 0.5 s.
  const dribblers: Array<[string, (socket: Socket) => NodeJS.Timeout]> = [
    [
      'HTTP/1.1 header lines',
      (s) => {
        s.write('HTTP/1.1 200 OK\r\n');
        return setInterval(() => s.write('X-Slow: 1\r\n'), 500);
      },
    ],
    [
      'HTTP/1.0 header lines',
      (s) => {
        s.write('HTTP/1.0 200 OK\r\n');
        return setInterval(() => s.write('X-Slow: 1\r\n'), 500);
      },
    ],
    [
      'body bytes',
      (s) => {
        s.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n');
        return setInterval(() => s.write('x'), 500);
      },
    ],
  ];
  for (const [name, dribble] of dribblers) {
    test(`a receiver dribbling ${name} ends the run within its bound, the run spooled and the lock released; the next run stores both`, async () => {
      const state = stateDir();
      const timers = new Set<NodeJS.Timeout>();
      const slow = await startServer(() => (req) => {
        const t = dribble(req.socket);
        timers.add(t);
        req.socket.on('close', () => clearInterval(t));
      });
      stops.push(async () => {
        for (const t of timers) clearInterval(t);
        await slow.stop();
      });
      const host = `dribble-${name.replace(/\W+/g, '-')}`;
      const r = await run(host, state, `${slow.url}/opentelemetry/v1/metrics`);
      assert.equal(r.code, 1, r.stderr);
      assert.ok(r.ms < BOUND_MS, `bounded: ${r.ms} ms`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0] as string, /failed: timed out: no whole answer within \d+ ms .*kept in .*\(1 waiting\)/);
      assert.doesNotMatch(r.stderr, /did not finish within/, 'the push ended, not the process guard');
      assert.equal(spooled(state).length, 1);
      assert.ok(!existsSync(join(state, 'lock')), 'the lock is released');
      assert.ok(existsSync(join(state, 'state.json')), 'the state is saved');
      const ok = await run(host, state, vm.otlpUrl);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal((await heartbeats(host, 2)).length, 2);
    });
  }

  test("bad backlog entries (labels: null, a 48 MB run) are dropped and said; the run's own push goes out within its bound", async () => {
    const state = stateDir();
    assert.equal((await run('backlog', state, 'http://127.0.0.1:1/opentelemetry/v1/metrics')).code, 1);
    const [good] = spooled(state);
    const collectedAt = Date.now() / 1000 - 60;
    const write = (ms: number, run: unknown): void =>
      writeFileSync(join(state, 'spool', `run-${String(ms).padStart(16, '0')}-1-00000000.run`), encodeFrame(JSON.stringify(run)));
    write(Math.round(collectedAt * 1000), {
      collectedAt,
      observations: [{ name: 'systemd_unit_active', labels: null, value: 1 }],
    });
    const observation = { name: 'systemd_unit_active', labels: { unit: 'x.service', sub_state: 'running', host: 'backlog' }, value: 1 };
    write(Math.round(collectedAt * 1000) + 1, { collectedAt: collectedAt + 0.001, observations: Array(400_000).fill(observation) });
    assert.ok(readdirSync(join(state, 'spool')).length === 3);

    const r = await run('backlog', state, vm.otlpUrl);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.ms < BOUND_MS, `bounded: ${r.ms} ms`);
    assert.match(
      r.stderr,
      /spool: dropped 2 earlier run\(s\) that are not readable runs: run-\S+: not a run of ours: observation 0: labels are not a map \(and 1 more\)/,
    );
    assert.match(r.stderr, /spool: pushed 1 earlier run\(s\) after this one/);
    assert.deepEqual(spooled(state), []);
    assert.ok(good);
    assert.equal((await heartbeats('backlog', 2)).length, 2, 'the good spooled run and this one');
  });
});
