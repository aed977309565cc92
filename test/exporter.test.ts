/**
 * The built CLI, run as a process on recorded real systemd 252 output (only the systemctl
 * edge replayed), pushes to a real VictoriaMetrics 1.112.0: the stored names, label keys
 * and values are exactly the definitions', in both naming modes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { METRICS } from '../src/metrics/definitions.ts';
import { runCli, skipReason } from './support/cli.ts';
import { createReplay, type Replay } from './support/replay.ts';
import { startVictoria, victoriaUnavailable, type Victoria } from './support/victoria.ts';

const seed = (name: string): string => readFileSync(new URL(`fixtures/seed-252/${name}`, import.meta.url), 'utf8');

const UNITS = ['hb-ok.service', 'hb-crashloop.service', 'hb-oneshot.service', 'hb-tick.timer', 'hb-stale.*', 'does-not-exist.service'];
const LABEL_KEYS = new Set(['__name__', 'unit', 'host', 'sub_state', 'load_state', 'result', 'service']);

const reason = skipReason(victoriaUnavailable());

describe('push to a real VictoriaMetrics', { skip: reason }, () => {
  let replay: Replay;
  const servers: Victoria[] = [];
  before(async () => {
    replay = createReplay({
      listUnits: seed('list-units-all-output-json.txt'),
      show: `${seed('show-props-all-timestamp-unix.txt')}\n${seed('show-nonexistent-props.txt').replace(/^#.*$/m, '')}`,
    });
    servers.push(await startVictoria({ prometheusNaming: false }), await startVictoria({ prometheusNaming: true }));
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    replay?.remove();
  });

  async function pushTo(vm: Victoria): Promise<Array<Record<string, string>>> {
    const pushedAfter = Date.now() - 1;
    const result = await runCli(['--host', 'kai-server', ...UNITS.flatMap((u) => ['--unit', u])], {
      SYSTEMD_HEARTBEAT_SYSTEMCTL: replay.systemctl,
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: vm.otlpUrl,
    });
    assert.equal(result.stderr, '');
    assert.equal(result.code, 0);
    // Wait (bounded) until this run's heartbeat is visible; the whole request lands together.
    await vm.exportWhen(
      'systemd_heartbeat_last_run_timestamp_seconds{host="kai-server"}',
      ([beat]) => (beat?.values.at(-1) ?? 0) * 1000 >= pushedAfter,
    );
    return vm.series('{__name__=~"systemd_.*"}');
  }

  test('stored names and label keys are the definitions, identical in both naming modes', async () => {
    const [plain, prom] = await Promise.all(servers.map(pushTo));
    const key = (s: Record<string, string>): string => JSON.stringify(Object.entries(s).sort());
    assert.deepEqual(new Set(plain?.map(key)), new Set(prom?.map(key)), 'same series with and without -opentelemetry.usePrometheusNaming');
    const defined = new Map<string, (typeof METRICS)[number]>(METRICS.map((m) => [m.name, m]));
    for (const series of plain ?? []) {
      const def = defined.get(series.__name__ as string);
      assert.ok(def, `stored name ${series.__name__} is a defined metric`);
      assert.deepEqual(
        Object.keys(series)
          .filter((k) => k !== '__name__')
          .sort(),
        [...def.labels].sort(),
        `${series.__name__} carries exactly its defined labels`,
      );
      for (const k of Object.keys(series)) assert.ok(LABEL_KEYS.has(k), `no SDK noise label: ${k}`);
    }
    const stored = new Set(plain?.map((s) => s.__name__));
    for (const name of [
      'systemd_unit_active',
      'systemd_unit_restart_count_total',
      'systemd_unit_last_exit_status',
      'systemd_unit_seconds_since_active',
      'systemd_unit_loaded',
      'systemd_unit_failed',
      'systemd_failed_units',
      'systemd_timer_last_trigger_timestamp_seconds',
      'systemd_timer_interval_seconds',
      'systemd_heartbeat_last_run_timestamp_seconds',
      'systemd_heartbeat_collect_duration_seconds',
      'systemd_heartbeat_units',
    ]) {
      assert.ok(stored.has(name), `${name} was stored`);
    }
  });

  test('stored values match what systemctl said', async () => {
    const vm = servers[0] as Victoria;
    // A little ahead of now: VictoriaMetrics aligns an instant query's time to the second,
    // which can fall just before a sample written in the same second.
    const value = async (q: string): Promise<number[]> => (await vm.query(q, Date.now() + 2000)).map((s) => s.value).sort((a, b) => a - b);
    assert.deepEqual(await value('systemd_unit_restart_count_total{unit="hb-crashloop.service",host="kai-server"}'), [4]);
    assert.deepEqual(await value('systemd_unit_active{unit="hb-ok.service",sub_state="running"}'), [1]);
    assert.deepEqual(await value('systemd_unit_active{unit="hb-oneshot.service",sub_state="dead"}'), [0]);
    assert.deepEqual(await value('systemd_unit_loaded{unit="does-not-exist.service",load_state="not-found"}'), [0]);
    assert.deepEqual(await value('systemd_unit_loaded{unit="hb-stale.timer",load_state="loaded"}'), [1], 'the glob hb-stale.* matched');
    assert.deepEqual(await value('systemd_unit_failed{unit="hb-failed.service",result="exit-code"}'), [1], 'failed outside the allowlist');
    assert.deepEqual(await value('systemd_failed_units{host="kai-server"}'), [1]);
    assert.deepEqual(await value('systemd_timer_interval_seconds{unit="hb-tick.timer"}'), [2]);
    assert.deepEqual(await value('systemd_timer_last_trigger_timestamp_seconds{unit="hb-stale.timer"}'), [
      Date.UTC(2026, 10, 19, 17, 43, 9) / 1000,
    ]);
    assert.deepEqual(await value('systemd_heartbeat_units{host="kai-server"}'), [7], '5 names + 2 glob matches');
    const [lastRun] = await value('systemd_heartbeat_last_run_timestamp_seconds');
    assert.ok(lastRun !== undefined && Math.abs(lastRun - Date.now() / 1000) < 60, 'the heartbeat is the collection time');
  });
});
