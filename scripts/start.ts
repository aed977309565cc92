/**
 * The main job, once, against a real VictoriaMetrics, and what landed.
 *
 * - Endpoint: OTEL_EXPORTER_OTLP_[METRICS_]ENDPOINT if set; else a throw-away
 *   VictoriaMetrics 1.112.0 on a free loopback port, stopped at the end.
 * - Units: on a host whose PID 1 is systemd, this host (SYSTEMD_HEARTBEAT_UNITS, default
 *   every timer and service; failed units always). Elsewhere it says so and runs the exporter
 *   inside the project's isolated real systemd 252 (the test harness; root needed) with its
 *   fixture units. Without root either, it replays recorded real systemd 252 output.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../src/config.ts';
import { redactUrl } from '../src/url.ts';
import { bootSandbox, sandboxUnavailable, type Sandbox } from '../test/harness/sandbox.ts';
import { CLI, REPO, runCli } from '../test/support/cli.ts';
import { createReplay, type Replay } from '../test/support/replay.ts';
import { startVictoria, type Victoria } from '../test/support/victoria.ts';

const say = (line: string): void => void process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  // The exporter's own rules (a bare host is VictoriaMetrics' OTLP path), not a copy of them.
  const configured = resolveConfig({ env: process.env, hostname: () => 'npm-start', readFile: () => undefined, flags: {} }).endpoint;
  const explicit = Boolean(process.env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_ENDPOINT);
  let vm: Victoria | undefined;
  let sandbox: Sandbox | undefined;
  let replay: Replay | undefined;
  const state = mkdtempSync(join(tmpdir(), 'heartbeat-start-'));
  try {
    let endpoint = configured;
    if (!explicit) {
      vm = await startVictoria();
      endpoint = vm.otlpUrl;
      say(`started VictoriaMetrics 1.112.0 at ${vm.url} (pid ${vm.pid}); it is stopped at the end`);
    }
    const host = 'npm-start';
    const base = ['--host', host, '--endpoint', endpoint];
    let result: { code: number | null; stdout: string; stderr: string };
    let demo = false;
    if (existsSync('/run/systemd/system')) {
      const units = process.env.SYSTEMD_HEARTBEAT_UNITS ?? '*.timer,*.service';
      say(`systemd is PID 1 here: watching this host's ${units} (set SYSTEMD_HEARTBEAT_UNITS to choose)`);
      result = await runCli([...base, '-u', units], {
        SYSTEMD_HEARTBEAT_STATE_DIR: state,
        ...pass('XDG_RUNTIME_DIR', 'DBUS_SYSTEM_BUS_ADDRESS'),
      });
    } else if (sandboxUnavailable() === undefined) {
      say("PID 1 is not systemd here: running the exporter inside the project's isolated real systemd 252");
      say('(test/harness: own mount/PID/cgroup namespaces, overlay root, only the hb-* fixture units)');
      sandbox = await bootSandbox();
      demo = true;
      await new Promise((r) => setTimeout(r, 2500)); // let the crash loop and the 2 s timer run a little
      const units = ['hb-*.service', 'hb-*.timer', 'hb-missing.service', 'hb-masked.service'].flatMap((u) => ['-u', u]);
      const exec = await sandbox.exec([process.execPath, CLI, ...base, ...units], {
        env: { SYSTEMD_HEARTBEAT_STATE_DIR: '/var/tmp/heartbeat' },
        timeoutMs: 20_000,
      });
      result = exec;
    } else {
      say(`PID 1 is not systemd here and the isolated systemd cannot run (${sandboxUnavailable()}):`);
      say('replaying recorded real systemd 252 output (test/fixtures/seed-252) through the real CLI instead');
      const fixture = (name: string): string => readFileSync(join(REPO, 'test/fixtures/seed-252', name), 'utf8');
      demo = true;
      replay = createReplay({ listUnits: fixture('list-units-all-output-json.txt'), show: fixture('show-props-all-timestamp-unix.txt') });
      result = await runCli([...base, '-u', 'hb-*.service', '-u', 'hb-*.timer'], {
        SYSTEMD_HEARTBEAT_SYSTEMCTL: replay.systemctl,
        SYSTEMD_HEARTBEAT_STATE_DIR: state,
      });
    }
    if (result.stderr.trim() !== '') say(result.stderr.trimEnd());
    say(`exporter exit code ${result.code}`);
    if (!vm) {
      if (result.code === 0) say(`pushed to ${redactUrl(endpoint)}; query it for {host="${host}"}`);
      else say(`the run did not push to ${redactUrl(endpoint)} (exit code ${result.code}): see the lines above`);
      return result.code ?? 1;
    }
    await vm.flush();
    const samples = await vm.query(`{host="${host}"}`);
    say(`\nVictoriaMetrics now holds ${samples.length} series for host="${host}":\n`);
    const rows = samples
      .map((s) => {
        const { __name__: name = '', host: _h, ...labels } = s.metric;
        const text = Object.entries(labels)
          .sort()
          .map(([k, v]) => `${k}=${v}`)
          .join(' ');
        return [name, readable(name, s.value), text] as const;
      })
      .sort((a, b) => (a[0] + a[2]).localeCompare(b[0] + b[2]));
    const w0 = Math.max(...rows.map((r) => r[0].length));
    const w1 = Math.max(...rows.map((r) => r[1].length));
    for (const [name, value, labels] of rows) say(`${name.padEnd(w0)}  ${value.padStart(w1)}  ${labels}`);
    if (demo) {
      say('\nThe demo units show what the exporter is for:');
      say('  hb-crashloop.service  crash-loops (Restart=always): systemd_unit_restart_count_total grows');
      say('  hb-failed.service     failed: systemd_unit_failed{result="exit-code"} 1, its exit status');
      say('  hb-masked.service     masked, hb-missing.service not found: systemd_unit_loaded 0');
      say('  hb-stale.timer        stopped firing: systemd_unit_seconds_since_active grows past its interval');
    }
    say('\nNext:');
    say('  node dist/systemd-heartbeat.cjs summary --vm-url URL   what went wrong in the last day (README "Daily summary")');
    say('  sudo node dist/systemd-heartbeat.cjs install          run it every 30 s on this host (README "Install")');
    say('  dashboards/systemd-heartbeat.json                     import into Grafana; alerts/ for vmalert');
    return result.code ?? 1;
  } finally {
    await sandbox?.stop();
    await vm?.stop();
    replay?.remove();
    rmSync(state, { recursive: true, force: true });
  }
}

/** Unix-time metrics as a date and an age; other values as numbers. */
function readable(name: string, value: number): string {
  if (name.endsWith('_timestamp_seconds') && value > 0) {
    const age = Math.max(0, Math.round(Date.now() / 1000 - value));
    return `${new Date(value * 1000).toISOString().replace('T', ' ').slice(0, 19)} UTC (${age} s ago)`;
  }
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}

function pass(...keys: string[]): Record<string, string> {
  return Object.fromEntries(keys.flatMap((k) => (process.env[k] ? [[k, process.env[k] as string]] : [])));
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`npm start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
