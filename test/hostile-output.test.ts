/**
 * Hostile answers to a run (issue 19), through the built CLI: a systemctl that prints without
 * end is cut at what N units can need (not read to 256 MB); a receiver that echoes our token
 * back in its error (vmauth -logInvalidAuthTokens does) cannot put it in the log; an http://
 * endpoint with userinfo in a bad URL is never printed with its password.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli } from './support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'hb-hostile-output-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a systemctl that prints without end is cut at the cap: the run ends soon, small, and says so', async () => {
  const systemctl = join(dir, 'systemctl');
  // `yes` prints forever; list-units gets the flood, show too.
  writeFileSync(systemctl, '#!/bin/sh\nexec yes "garbage line of a broken systemctl"\n');
  chmodSync(systemctl, 0o755);
  const r = await runCli(['--dry-run', '-u', 'a.service', '--timeout', '10s'], { SYSTEMD_HEARTBEAT_SYSTEMCTL: systemctl }, 30_000);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /systemctl list-units: more than 16777216 bytes of output, more than it can need here; killed/);
  assert.doesNotMatch(r.stderr, /no answer within/, 'the cap ended it, not the time bound');
});

test('a receiver echoing our token in its error body: the log shows *** for it, wherever it appears', async () => {
  const token = 'tok-3f9a1c7e5b2d4f60';
  let seen = '';
  const server: Server = createServer((req, res) => {
    seen = req.headers.authorization ?? '';
    req.resume();
    req.on('end', () =>
      res.writeHead(401).end(`remoteAddr: "127.0.0.1"; cannot authorize request with auth tokens ["http_auth:${seen}"]; token=${token}`),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const credentials = mkdtempSync(join(dir, 'cred-'));
    writeFileSync(join(credentials, 'otlp-token'), `${token}\n`);
    const systemctl = join(dir, 'empty-systemctl');
    writeFileSync(systemctl, '#!/bin/sh\ncase "$*" in *list-units*) echo "[]";; esac\n');
    chmodSync(systemctl, 0o755);
    const r = await runCli(['--timeout', '3s'], {
      SYSTEMD_HEARTBEAT_SYSTEMCTL: systemctl,
      CREDENTIALS_DIRECTORY: credentials,
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `http://127.0.0.1:${(server.address() as AddressInfo).port}/opentelemetry/v1/metrics`,
    });
    assert.equal(seen, `Bearer ${token}`, 'the token was sent');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /HTTP 401 .*auth tokens \["http_auth:\*\*\*"\]; token=\*\*\*/);
    assert.ok(!r.stderr.includes(token), `the token is not in: ${r.stderr}`);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('credentials in a URL that does not parse are masked in the error', async () => {
  for (const [args, env] of [
    [['--endpoint', 'http://user:SECRET@bad host/x'], {}],
    [[], { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://user:SECRET@bad host/x' }],
    [['summary', '--vm-url', 'http://user:SECRET@bad host/'], {}],
  ] as const) {
    const r = await runCli([...args], { ...env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /\*\*\*@bad host/);
    assert.ok(!r.stderr.includes('SECRET'), r.stderr);
  }
});
