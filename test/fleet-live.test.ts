/**
 * The fleet path, live (issue 22): the built exporter pushes through a real vmagent with
 * -enableMultitenantHandlers (/insert/<tenant>/opentelemetry/v1/metrics, gzip) into a real
 * single-node VictoriaMetrics, which keeps each tenant as vm_account_id/vm_project_id labels.
 * The same host name in two tenants stays two hosts in `summary`, and `summary --tenant` finds
 * only that tenant's hosts. systemctl replays recorded systemd 252 output.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Summary } from '../src/summary/model.ts';
import { runCli, skipReason } from './support/cli.ts';
import { createReplay, type Replay } from './support/replay.ts';
import { VM_BIN_DIR, startVictoria, victoriaUnavailable, type Victoria } from './support/victoria.ts';

const seed = (name: string): string => readFileSync(new URL(`fixtures/seed-252/${name}`, import.meta.url), 'utf8');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('through vmagent with multitenant handlers', { skip: skipReason(victoriaUnavailable()) }, () => {
  let vm: Victoria;
  let replay: Replay;
  let agent: ChildProcess | undefined;
  let agentUrl = '';
  const dir = mkdtempSync(join(tmpdir(), 'hb-fleet-live-'));
  before(async () => {
    replay = createReplay({ listUnits: seed('list-units-all-output-json.txt'), show: seed('show-props-all-timestamp-unix.txt') });
    vm = await startVictoria();
    const port = await freePort();
    agentUrl = `http://127.0.0.1:${port}`;
    agent = spawn(
      join(VM_BIN_DIR, 'vmagent'),
      [
        `-httpListenAddr=127.0.0.1:${port}`,
        '-enableMultitenantHandlers',
        `-remoteWrite.url=${vm.url}/api/v1/write`,
        `-remoteWrite.tmpDataPath=${join(dir, 'queue')}`,
        '-remoteWrite.flushInterval=200ms',
      ],
      { stdio: 'ignore' },
    );
    for (let i = 0; i < 100; i++) {
      const ok = await fetch(`${agentUrl}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  after(async () => {
    if (agent && agent.exitCode === null) {
      agent.kill('SIGTERM');
      await new Promise((resolve) => agent?.once('close', resolve));
    }
    await vm?.stop();
    replay?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  test('one host name in two tenants is two hosts; --tenant keeps one tenant', async () => {
    const push = async (host: string, tenant: string): Promise<void> => {
      const r = await runCli(['--host', host, '-u', 'hb-ok.service', '-u', 'hb-failed.service'], {
        SYSTEMD_HEARTBEAT_SYSTEMCTL: replay.systemctl,
        SYSTEMD_HEARTBEAT_STATE_DIR: join(dir, `state-${host}-${tenant}`),
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${agentUrl}/insert/${tenant}/opentelemetry/v1/metrics`,
        OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
      });
      assert.equal(r.code, 0, r.stderr);
    };
    for (let i = 0; i < 3; i++) {
      await push('shared', '42');
      await push('shared', '7');
      await push('only-42', '42');
      await new Promise((r) => setTimeout(r, 1000));
    }
    // vmagent forwards within its flush interval; VictoriaMetrics makes them searchable on flush.
    let series: Array<Record<string, string>> = [];
    for (let i = 0; i < 50 && series.length < 3; i++) {
      await vm.flush();
      series = await vm.series('systemd_heartbeat_last_run_timestamp_seconds');
      if (series.length < 3) await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual(
      series.map((s) => `${s.host} ${s.vm_account_id}:${s.vm_project_id}`).sort(),
      ['only-42 42:0', 'shared 42:0', 'shared 7:0'],
      'vmagent labelled each tenant',
    );

    const all = await runCli(['summary', '--vm-url', vm.url, '--since', '10m', '--format', 'json', '--interval', '1s']);
    const s = JSON.parse(all.stdout) as Summary;
    assert.deepEqual(
      s.hosts.map((h) => `${h.host} ${h.tenant} ${h.coverage.runs}`).sort(),
      ['only-42 42:0 3', 'shared 42:0 3', 'shared 7:0 3'],
      'not merged: each tenant counts its own runs',
    );
    const text = await runCli(['summary', '--vm-url', vm.url, '--since', '10m', '--verbose', '--interval', '1s']);
    assert.match(text.stdout, /^shared \(tenant 7:0\): /m);

    const one = await runCli(['summary', '--vm-url', vm.url, '--since', '10m', '--format', 'json', '--tenant', '42']);
    assert.deepEqual(
      (JSON.parse(one.stdout) as Summary).hosts.map((h) => `${h.host} ${h.tenant}`).sort(),
      ['only-42 42:0', 'shared 42:0'],
      "--tenant 42 finds only that tenant's hosts",
    );
    const seven = await runCli(['summary', '--vm-url', vm.url, '--since', '10m', '--format', 'json', '--tenant', '7:0']);
    assert.deepEqual(
      (JSON.parse(seven.stdout) as Summary).hosts.map((h) => h.host),
      ['shared'],
    );
    // Each host's failed unit is found in its own tenant.
    for (const h of (JSON.parse(one.stdout) as Summary).hosts)
      assert.deepEqual(
        h.failed.map((f) => f.unit),
        ['hb-failed.service'],
      );
  });
});
