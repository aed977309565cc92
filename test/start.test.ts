/**
 * `npm start` (scripts/start.ts), the README's first command, as a user runs it: against a
 * VictoriaMetrics it starts itself, it shows what landed with readable times and what to do next;
 * against an endpoint that fails, it never claims to have pushed (issue 20.2, 20.8).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { REPO, skipReason } from './support/cli.ts';
import { victoriaUnavailable } from './support/victoria.ts';

function start(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

test('npm start against a VictoriaMetrics of its own: what landed, readable times, the next steps', {
  skip: skipReason(victoriaUnavailable()),
}, async () => {
  const r = await start({});
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /VictoriaMetrics now holds \d+ series for host="npm-start"/);
  assert.match(r.out, /systemd_heartbeat_last_run_timestamp_seconds\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(\d+ s ago\)/);
  assert.match(r.out, /\nNext:\n.*summary --vm-url/);
});

test('npm start with an endpoint that refuses: it says the run did not push, never "pushed to"', async () => {
  const r = await start({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' });
  assert.notEqual(r.code, 0);
  assert.doesNotMatch(r.out, /pushed to/);
  // A bare host is VictoriaMetrics' OTLP path (the exporter's own rule, not a copy in the script).
  assert.match(r.out, /the run did not push to http:\/\/127\.0\.0\.1:1\/opentelemetry\/v1\/metrics \(exit code 1\)/);
});
