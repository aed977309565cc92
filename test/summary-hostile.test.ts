/**
 * `summary` against input that would hurt the operator's machine or mislead a reader (issue 19):
 * the built CLI as a process against loopback servers that answer too much, echo our
 * credentials or never resolve, a real vmagent that answers no queries, and label values with
 * terminal escapes and markdown in a real VictoriaMetrics.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TEST_NOW_ENV } from '../src/summary/command.ts';
import type { Summary } from '../src/summary/model.ts';
import { MAX_ANSWER_BYTES } from '../src/vm/prometheus-api.ts';
import { CLI, runCli, skipReason } from './support/cli.ts';
import { VM_BIN_DIR, startVictoria, victoriaUnavailable, type Victoria } from './support/victoria.ts';

function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(handler);
    server.on('clientError', (_e, socket) => socket.destroy());
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function urlOf(server: Server): string {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}`;
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Writes `chunk` again and again until the client goes away (bounded: 4 GB at most). */
function flood(res: ServerResponse, chunk: Buffer): void {
  let sent = 0;
  const more = (): void => {
    while (sent < 4 * 1024 ** 3) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', more);
    }
    res.end();
  };
  res.on('error', () => undefined);
  more();
}

const CHUNK = Buffer.alloc(1024 * 1024, 'x');

test('a 200 announcing a 1 GB body ends at once with a clear error, reading none of it', async () => {
  const server = await serve((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(1024 ** 3) });
    flood(res, CHUNK);
  });
  try {
    const r = await runCli(['summary', '--vm-url', urlOf(server), '--timeout', '20s'], {}, 60_000);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(`larger than ${MAX_ANSWER_BYTES / 1024 / 1024} MiB \\(Content-Length 1073741824\\); is --vm-url VictoriaMetrics\\?`),
    );
    assert.doesNotMatch(r.stderr, /did not answer within/, 'the cap ended it, not the deadline');
  } finally {
    await close(server);
  }
});

test('an endless body without Content-Length (200 or 400) is cut at the cap, not read to the end', async () => {
  for (const status of [200, 400]) {
    const server = await serve((_req, res) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      flood(res, CHUNK);
    });
    try {
      const r = await runCli(['summary', '--vm-url', urlOf(server), '--timeout', '20s'], {}, 60_000);
      assert.equal(r.code, 1, `HTTP ${status}`);
      assert.match(r.stderr, /larger than \d+ MiB; is --vm-url VictoriaMetrics\?/, `HTTP ${status}: ${r.stderr}`);
    } finally {
      await close(server);
    }
  }
});

test('a server echoing our token back (vmauth -logInvalidAuthTokens) cannot put it in the message', async () => {
  const server = await serve((req, res) => {
    const auth = req.headers.authorization ?? '';
    res.writeHead(401, { 'Content-Type': 'text/plain' });
    res.end(`remoteAddr: "127.0.0.1:1"; requestURI: ${req.url}; cannot authorize request with auth tokens ["http_auth:${auth}"]`);
  });
  try {
    const r = await runCli(['summary', '--vm-url', urlOf(server), '--header', 'Authorization=Bearer s3cret-t0ken-value'], {}, 30_000);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /HTTP 401\): cannot authorize request with auth tokens \["http_auth:\*\*\*"\]/);
    assert.doesNotMatch(r.stderr, /s3cret-t0ken-value/);
    const basic = await runCli(['summary', '--vm-url', urlOf(server).replace('//', '//ops:pa55word-here@')], {}, 30_000);
    assert.equal(basic.code, 1);
    assert.doesNotMatch(basic.stderr, /pa55word-here|b3BzOnBhNTV3b3JkLWhlcmU/, 'neither the password nor its Basic encoding');
  } finally {
    await close(server);
  }
});

test('control characters in an error body are escaped, not sent to the terminal', async () => {
  const server = await serve((_req, res) => {
    res.writeHead(400, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ status: 'error', error: 'bad\u001b[2J\r\nsystemd-heartbeat: all healthy' }));
  });
  try {
    const r = await runCli(['summary', '--vm-url', urlOf(server)], {}, 30_000);
    assert.equal(r.code, 1);
    assert.ok(!r.stderr.includes('\u001b') && !r.stderr.includes('\r'), 'no raw escape or carriage return');
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, 'one line: the forged second line stays on the first');
    assert.match(r.stderr, /bad\\u001b\[2J systemd-heartbeat: all healthy/);
  } finally {
    await close(server);
  }
});

test('port 9 (a port fetch refused as "bad port") is an ordinary refused connection', async () => {
  const r = await runCli(['summary', '--vm-url', 'http://127.0.0.1:9'], {}, 30_000);
  assert.equal(r.code, 1);
  assert.doesNotMatch(r.stderr, /bad port/);
  assert.match(r.stderr, /cannot be queried: .*ECONNREFUSED 127\.0\.0\.1:9/);
});

const rootReason = process.getuid?.() === 0 ? undefined : 'needs root for a private mount namespace';

test('a DNS server that never answers: the process ends at --timeout', { skip: rootReason }, async () => {
  // A UDP socket that reads queries and never answers, as the only nameserver, in a private mount
  // namespace (unshare -m: the bind mount of resolv.conf is never seen by the host).
  const blackhole = createSocket('udp4');
  blackhole.on('message', () => undefined);
  await new Promise<void>((resolve, reject) => {
    blackhole.once('error', reject);
    blackhole.bind(53, '127.0.0.1', () => resolve());
  });
  const dir = mkdtempSync(join(tmpdir(), 'hb-dns-'));
  writeFileSync(join(dir, 'resolv.conf'), 'nameserver 127.0.0.1\noptions timeout:30 attempts:5\n');
  try {
    const script = 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"';
    const started = performance.now();
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(
        'unshare',
        [
          '-m',
          '--propagation',
          'private',
          'sh',
          '-c',
          script,
          'sh',
          join(dir, 'resolv.conf'),
          process.execPath,
          CLI,
          'summary',
          '--vm-url',
          'http://vm.never-answers.test:8428',
          '--timeout',
          '2s',
        ],
        { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SYSTEMD_HEARTBEAT_STATE_DIR: dir }, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('close', (code) => {
        clearTimeout(kill);
        resolve({ code, stderr });
      });
    });
    const ms = performance.now() - started;
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /vm\.never-answers\.test/);
    // Generous: a bound on the tool (the resolver alone would wait 30 s x 5), not on machine speed.
    assert.ok(ms < 15_000, `ended after ${Math.round(ms)} ms`);
  } finally {
    blackhole.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

const vmReason = skipReason(victoriaUnavailable());

describe('through a real vmagent and with hostile label values', { skip: vmReason }, () => {
  let vm: Victoria;
  const END = 1_764_547_200; // 2025-12-01 00:00:00 UTC
  before(async () => {
    vm = await startVictoria();
    const lines: string[] = [];
    for (let t = END - 600; t <= END; t += 30) {
      lines.push(`systemd_unit_failed{unit="evil\u001b[31m\\n## forged heading.service",host="h",result="exit-code"} 1 ${t * 1000}`);
      lines.push(`systemd_unit_failed{unit="tick\`\`code.service",host="h",result="a|b"} 1 ${t * 1000}`);
      lines.push(`systemd_heartbeat_units{host="h"} 2 ${t * 1000}`);
      lines.push(`systemd_heartbeat_last_run_timestamp_seconds{host="h"} ${t} ${t * 1000}`);
      // Host ext: a unit restarted from outside every minute (NRestarts stays 0) that exits 1,
      // which SystemdUnitRestartLoop counts by its starts; and one that starts as often but exits 0.
      const n = Math.floor((t - (END - 600)) / 60);
      for (const [unit, exit] of [
        ['ext-loop.service', 1],
        ['ext-ok.service', 0],
      ] as const) {
        lines.push(`systemd_unit_starts_total{unit="${unit}",host="ext"} ${n} ${t * 1000}`);
        lines.push(`systemd_unit_restart_count_total{unit="${unit}",host="ext"} 0 ${t * 1000}`);
        lines.push(`systemd_unit_last_exit_status{unit="${unit}",host="ext"} ${exit} ${t * 1000}`);
      }
      lines.push(`systemd_heartbeat_units{host="ext"} 2 ${t * 1000}`);
      lines.push(`systemd_heartbeat_last_run_timestamp_seconds{host="ext"} ${t} ${t * 1000}`);
    }
    // Host fresh: watched for the last 3 minutes only (7 runs), every unit healthy.
    for (let t = END - 180; t <= END; t += 30) {
      lines.push(`systemd_unit_failed{unit="a.service",host="fresh",result="success"} 0 ${t * 1000}`);
      lines.push(`systemd_heartbeat_units{host="fresh"} 1 ${t * 1000}`);
      lines.push(`systemd_heartbeat_last_run_timestamp_seconds{host="fresh"} ${t} ${t * 1000}`);
    }
    await vm.importPrometheus(lines.join('\n'));
    await vm.flush();
  });
  after(async () => {
    await vm?.stop();
  });

  test('text: no terminal escape and no forged line reaches the output', async () => {
    const r = await runCli(['summary', '--vm-url', vm.url, '--host', 'h', '--since', '10m'], { [TEST_NOW_ENV]: String(END) }, 60_000);
    assert.equal(r.code, 3, r.stderr);
    assert.ok(!r.stdout.includes('\u001b'), 'no raw escape');
    assert.doesNotMatch(r.stdout, /^## forged/m);
    assert.match(r.stdout, /evil\\u001b\[31m\\u000a## forged heading\.service: exit-code/);
  });

  test('markdown: no forged heading, code spans that a backtick cannot end, pipes escaped', async () => {
    const r = await runCli(
      ['summary', '--vm-url', vm.url, '--host', 'h', '--since', '10m', '--format', 'markdown'],
      { [TEST_NOW_ENV]: String(END) },
      60_000,
    );
    assert.equal(r.code, 3, r.stderr);
    const headings = r.stdout.split('\n').filter((l) => l.startsWith('#'));
    assert.deepEqual(headings, ['### h: 2 problems, 2 units watched']);
    assert.match(r.stdout, /\| ``` tick``code\.service ``` \| a\\\|b;/);
  });

  test('restarts from outside count as the alert counts them: starts of a unit that exited non-zero', async () => {
    const r = await runCli(
      ['summary', '--vm-url', vm.url, '--host', 'ext', '--since', '10m', '--format', 'json'],
      { [TEST_NOW_ENV]: String(END) },
      60_000,
    );
    assert.equal(r.code, 3, r.stderr);
    const host = (JSON.parse(r.stdout) as Summary).hosts[0];
    assert.deepEqual(
      host?.restarts.map((u) => [u.unit, u.restarts, u.looping]),
      [['ext-loop.service', 10, true]],
      'ext-ok.service starts as often but exits 0: not a loop',
    );
  });

  test('a host watched for 3 minutes of a 24 h window is healthy: coverage and gaps count from its first run', async () => {
    const r = await runCli(['summary', '--vm-url', vm.url, '--host', 'fresh', '--format', 'json'], { [TEST_NOW_ENV]: String(END) }, 60_000);
    assert.equal(r.code, 0, r.stdout);
    const coverage = (JSON.parse(r.stdout) as Summary).hosts[0]?.coverage;
    assert.deepEqual(coverage, { runs: 7, expectedRuns: 7, fraction: 1, firstRunAt: END - 180, lastRunAt: END, gaps: [], problem: false });
    const text = await runCli(['summary', '--vm-url', vm.url, '--host', 'fresh'], { [TEST_NOW_ENV]: String(END) }, 60_000);
    assert.match(text.stdout, /^1 unit healthy on fresh in the last 24h$/m);
    assert.match(
      text.stdout,
      /exporter coverage: 7 of 7 expected runs \(100%\), watched since 2025-11-30 23:57:00 UTC, last run 00:00:00 UTC/,
    );
  });

  test('a vmagent as --vm-url: the reason it gives in full, and where to point --vm-url', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hb-vmagent-'));
    const port = 20_000 + (process.pid % 20_000);
    const agent = spawn(
      join(VM_BIN_DIR, 'vmagent'),
      [`-httpListenAddr=127.0.0.1:${port}`, `-remoteWrite.url=${vm.url}/api/v1/write`, `-remoteWrite.tmpDataPath=${dir}`],
      { stdio: 'ignore' },
    );
    try {
      let r = await runCli(['summary', '--vm-url', `http://127.0.0.1:${port}`], {}, 30_000);
      for (let i = 0; i < 50 && /ECONNREFUSED/.test(r.stderr); i++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        r = await runCli(['summary', '--vm-url', `http://127.0.0.1:${port}`], {}, 30_000);
      }
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /HTTP 400\): unsupported path requested: "\/api\/v1\/query(_range)?" \(this server answers no queries, e\.g\. a vmagent: point --vm-url at VictoriaMetrics/,
      );
      // The push endpoint at the vmagent, no --vm-url: the same hint.
      const viaEndpoint = await runCli(['summary', '--endpoint', `http://127.0.0.1:${port}/opentelemetry/v1/metrics`], {}, 30_000);
      assert.match(viaEndpoint.stderr, /unsupported path requested.*point --vm-url at VictoriaMetrics/);
    } finally {
      agent.kill('SIGTERM');
      await new Promise((resolve) => agent.once('close', resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
