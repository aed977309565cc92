/**
 * Bounded failure: whatever the receiver or systemctl does, a run ends within its time bound,
 * exits 1 and writes exactly one line naming what failed and where (without credentials).
 * The receivers are real HTTP servers on loopback that misbehave on purpose.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI, runCli } from './support/cli.ts';
import { createReplay, type Replay } from './support/replay.ts';
import { hostsAddresses } from '../src/export/lookup.ts';

const seed = (name: string): string => readFileSync(new URL(`fixtures/seed-252/${name}`, import.meta.url), 'utf8');
const TIMEOUT_MS = 2000;
/** Generous: the bound is TIMEOUT_MS (+500 ms guard); the rest is process start on a slow machine. */
const BOUND_MS = TIMEOUT_MS + 4000;

type Mode = (res: ServerResponse) => void;
const MODES: Record<string, { answer: Mode; message: RegExp }> = {
  '500': {
    answer: (r) => r.writeHead(500).end('internal error: disk full'),
    message: /failed: HTTP 500 Internal Server Error: internal error: disk full/,
  },
  '503': { answer: (r) => r.writeHead(503).end('unavailable'), message: /failed: the receiver kept answering a retryable status/ },
  '413': { answer: (r) => r.writeHead(413).end('too large'), message: /failed: HTTP 413 Payload Too Large: too large/ },
  '400': { answer: (r) => r.writeHead(400).end('cannot parse protobuf'), message: /failed: HTTP 400 Bad Request: cannot parse protobuf/ },
  hang: { answer: () => {}, message: /failed: Request timed out/ },
};

test('/etc/hosts lines give their addresses, comments and other names aside', () => {
  const hosts = '127.0.0.1 localhost\n::1 localhost ip6-localhost # v6\n# 10.0.0.1 vm\n10.0.0.2  VM.lan vm\nbogus vm\n';
  assert.deepEqual(hostsAddresses(hosts, 'vm'), [{ address: '10.0.0.2', family: 4 }]);
  assert.deepEqual(hostsAddresses(hosts, 'LOCALHOST'), [
    { address: '127.0.0.1', family: 4 },
    { address: '::1', family: 6 },
  ]);
  assert.deepEqual(hostsAddresses(hosts, 'other'), []);
});

describe('bounded failure', () => {
  let replay: Replay;
  let server: Server;
  let port = 0;
  const sockets = new Set<Socket>();
  let mode: Mode = (r) => r.writeHead(204).end();
  before(async () => {
    replay = createReplay({ listUnits: seed('list-units-all-output-json.txt'), show: seed('show-props-all-timestamp-unix.txt') });
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => mode(res));
    });
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
    replay.remove();
  });

  const run = (endpoint: string, env: Record<string, string> = {}) =>
    runCli(['--host', 'faults', '-u', 'hb-ok.service', '--timeout', `${TIMEOUT_MS}ms`, '--endpoint', endpoint], {
      SYSTEMD_HEARTBEAT_SYSTEMCTL: replay.systemctl,
      ...env,
    });

  function assertOneLine(r: { code: number | null; stderr: string; ms: number }, message: RegExp): void {
    assert.equal(r.code, 1, r.stderr);
    assert.ok(r.ms < BOUND_MS, `ended within the bound: ${Math.round(r.ms)} ms`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `exactly one line: ${r.stderr}`);
    assert.match(lines[0] as string, message);
    assert.doesNotMatch(r.stderr, /s3cret/, 'no credentials in the message');
  }

  for (const [name, { answer, message }] of Object.entries(MODES)) {
    test(`receiver answering ${name}`, async () => {
      mode = answer;
      const r = await run(`http://user:s3cret@127.0.0.1:${port}/opentelemetry/v1/metrics`);
      assertOneLine(
        r,
        new RegExp(`^systemd-heartbeat: error: push to http://127\\.0\\.0\\.1:${port}/opentelemetry/v1/metrics ${message.source}`),
      );
    });
  }

  test('receiver refusing connections', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const r = await run(`http://user:s3cret@127.0.0.1:${closedPort}/v1/metrics`);
    assertOneLine(r, /push to http:\/\/127\.0\.0\.1:\d+\/v1\/metrics failed: connect ECONNREFUSED .*; this run is kept in /);
  });

  test('systemctl hanging (a stuck bus) is killed at the bound and reported; the partial run is pushed', async () => {
    mode = (r) => r.writeHead(204).end();
    const dir = mkdtempSync(join(tmpdir(), 'hb-hang-'));
    try {
      const pidFile = join(dir, 'pid');
      const script = join(dir, 'systemctl');
      writeFileSync(script, `#!/bin/sh\necho $$ > '${pidFile}'\nexec sleep 60\n`);
      chmodSync(script, 0o755);
      const r = await run(`http://127.0.0.1:${port}/v1/metrics`, { SYSTEMD_HEARTBEAT_SYSTEMCTL: script });
      assert.equal(r.code, 1);
      assert.ok(r.ms < BOUND_MS, `bounded: ${Math.round(r.ms)} ms`);
      assert.match(r.stderr, /could not read: systemctl list-units: .*list-units: no answer within \d+ ms, killed/);
      assert.match(r.stderr, /could not read: systemctl show: .*show: no answer within \d+ ms, killed/);
      assert.match(r.stderr, /error: pushed a partial collection: 2 read\(s\) failed/);
      const pid = Number(readFileSync(pidFile, 'utf8'));
      // Killed: gone, or a zombie its new parent has not reaped yet (a busy machine); bounded.
      const running = (): boolean => {
        try {
          return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
        } catch {
          return false;
        }
      };
      for (let i = 0; i < 40 && running(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(running(), false, 'the hung systemctl was killed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Slow DNS: in a private mount namespace, resolv.conf points at a loopback "DNS server"
  // that never answers. Needs root and unshare; nothing outside that process is changed.
  const canUnshare = process.getuid?.() === 0 && spawnSync('unshare', ['--mount', 'true']).status === 0;
  test('a name endpoint whose DNS never answers', { skip: canUnshare ? undefined : 'needs root and unshare --mount' }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hb-dns-'));
    let dns: UdpSocket | undefined;
    try {
      dns = createSocket('udp4');
      dns.on('message', () => {}); // swallow every query
      await new Promise<void>((resolve) => dns?.bind(53, '127.0.0.77', resolve));
      writeFileSync(join(dir, 'resolv.conf'), 'nameserver 127.0.0.77\noptions timeout:30 attempts:1\n');
      const script = join(dir, 'run.sh');
      writeFileSync(script, `#!/bin/sh\nmount --bind '${join(dir, 'resolv.conf')}' /etc/resolv.conf && exec "$@"\n`);
      chmodSync(script, 0o755);
      const started = performance.now();
      const child = spawnSync(
        'unshare',
        [
          '--mount',
          '--propagation',
          'private',
          script,
          process.execPath,
          CLI,
          '--host',
          'faults',
          '-u',
          'hb-ok.service',
          '--timeout',
          `${TIMEOUT_MS}ms`,
          '--endpoint',
          'http://slow-dns.heartbeat.test:8428/v1/metrics',
        ],
        {
          encoding: 'utf8',
          timeout: 30_000,
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            SYSTEMD_HEARTBEAT_SYSTEMCTL: replay.systemctl,
            SYSTEMD_HEARTBEAT_STATE_DIR: join(dir, 'state'),
          },
        },
      );
      const ms = performance.now() - started;
      assertOneLine(
        { code: child.status, stderr: child.stderr, ms },
        /push to http:\/\/slow-dns\.heartbeat\.test:8428\/v1\/metrics failed: .*DNS: no address for slow-dns\.heartbeat\.test within \d+ ms/,
      );
      assert.ok(existsSync(join(dir, 'state', 'spool')), 'the run was spooled');
    } finally {
      dns?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
