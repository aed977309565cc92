// Checks test/support/victoria.ts against the real VictoriaMetrics 1.112.0 binaries.
// Needs scripts/fetch-victoriametrics.sh to have run; skips (with that advice) otherwise.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { runVmalertTool, startVictoria, startVmalert, victoriaUnavailable, type Victoria } from './victoria.ts';

const skip = victoriaUnavailable();

// Minute-aligned, in 2023: far older than the default 1-month retention, so they prove -retentionPeriod=100y.
const T0 = Date.UTC(2023, 10, 14, 22, 0, 0);
const T1 = T0 + 60_000;
const SAMPLES = [
  '# TYPE heartbeat_probe_total counter',
  `heartbeat_probe_total{unit="a.service",host="h1"} 5 ${T0}`,
  `heartbeat_probe_total{unit="a.service",host="h1"} 7 ${T1}`,
  `heartbeat_probe_seconds{unit="a.service",host="h1"} 0.25 ${T1}`,
].join('\n');

function processGone(pid: number): boolean {
  return !existsSync(`/proc/${pid}`);
}

let scratch = '';
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'victoria-test-'));
});
after(async () => {
  if (scratch !== '') await rm(scratch, { recursive: true, force: true });
});

async function assertSamples(vm: Victoria): Promise<void> {
  const instant = await vm.query('heartbeat_probe_total', T1);
  assert.deepEqual(instant, [{ metric: { __name__: 'heartbeat_probe_total', unit: 'a.service', host: 'h1' }, timestamp: T1, value: 7 }]);

  const range = await vm.queryRange('heartbeat_probe_total', T0, T1, '60s');
  assert.deepEqual(range, [
    { metric: { __name__: 'heartbeat_probe_total', unit: 'a.service', host: 'h1' }, values: [5, 7], timestamps: [T0, T1] },
  ]);

  const series = await vm.series('{__name__=~"heartbeat_probe_.*"}', T0, T1);
  assert.deepEqual(
    series.sort((x, y) => String(x['__name__']).localeCompare(String(y['__name__']))),
    [
      { __name__: 'heartbeat_probe_seconds', unit: 'a.service', host: 'h1' },
      { __name__: 'heartbeat_probe_total', unit: 'a.service', host: 'h1' },
    ],
  );
  // Default range is all time, not VictoriaMetrics' last day.
  assert.equal((await vm.series('heartbeat_probe_total')).length, 1);

  const raw = await vm.exportRaw('heartbeat_probe_total');
  assert.deepEqual(raw, [
    { metric: { __name__: 'heartbeat_probe_total', unit: 'a.service', host: 'h1' }, values: [5, 7], timestamps: [T0, T1] },
  ]);
}

describe('startVictoria', { skip }, () => {
  for (const prometheusNaming of [false, true]) {
    test(`prometheusNaming=${prometheusNaming}: import, query, restart, stop`, async () => {
      const vm = await startVictoria({ prometheusNaming });
      try {
        assert.match(vm.url, /^http:\/\/127\.0\.0\.1:\d+$/);
        assert.equal(vm.otlpUrl, `${vm.url}/opentelemetry/v1/metrics`);

        const flags = await (await fetch(`${vm.url}/flags`)).text();
        assert.equal(flags.includes('-opentelemetry.usePrometheusNaming="true"'), prometheusNaming, flags);
        assert.match(flags, /-search\.latencyOffset="0s"/);

        await vm.importPrometheus(SAMPLES);
        await vm.flush();
        await assertSamples(vm);

        const { value } = (await vm.query('heartbeat_probe_seconds', T1))[0] ?? { value: NaN };
        assert.equal(value, 0.25);
        assert.deepEqual(await vm.query('vector(1)', T1), [{ metric: {}, timestamp: T1, value: 1 }]);
        assert.deepEqual(await vm.query('heartbeat_probe_total / 0', T1), [
          { metric: { unit: 'a.service', host: 'h1' }, timestamp: T1, value: Infinity },
        ]);
        await assert.rejects(vm.query('sum(', T1), /422|error/i);

        const oldPid = vm.pid;
        const url = vm.url;
        await vm.restart();
        assert.equal(vm.url, url);
        assert.notEqual(vm.pid, oldPid);
        assert.ok(processGone(oldPid), `old pid ${oldPid} still in /proc`);
        await assertSamples(vm);
      } finally {
        const pid = vm.pid;
        await vm.stop();
        assert.ok(processGone(pid), `pid ${pid} still in /proc after stop()`);
        assert.ok(!existsSync(vm.logPath), 'tmp dir not removed');
        await vm.stop(); // idempotent
      }
    });
  }

  test('a crashed test process leaves no server behind', async () => {
    const script = [
      `import { startVictoria } from ${JSON.stringify(fileURLToPath(new URL('./victoria.ts', import.meta.url)))};`,
      'const vm = await startVictoria();',
      'console.log(JSON.stringify({ pid: vm.pid, log: vm.logPath }));',
      "throw new Error('simulated test crash');",
    ].join('\n');
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
    });
    assert.notEqual(run.status, 0, 'the crash should fail the child');
    assert.match(run.stderr, /simulated test crash/);
    const { pid, log } = JSON.parse(run.stdout.trim()) as { pid: number; log: string };
    // SIGKILL is delivered at exit; the kernel may need a moment to reap the orphan.
    for (let i = 0; i < 50 && !processGone(pid); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(processGone(pid), `victoria-metrics pid ${pid} outlived its crashed parent`);
    assert.ok(!existsSync(log), 'tmp dir of the crashed run not removed');
  });
});

describe('startVmalert', { skip }, () => {
  test('evaluates a rule file and reports a firing alert', async () => {
    const rules = join(scratch, 'always.rules.yml');
    await writeFile(
      rules,
      [
        'groups:',
        '  - name: smoke',
        '    rules:',
        '      - alert: AlwaysFiring',
        '        expr: vector(1)',
        '        labels: { severity: test }',
        '        annotations: { summary: always firing }',
        '',
      ].join('\n'),
    );
    const vm = await startVictoria();
    try {
      const vmalert = await startVmalert({ ruleFiles: [rules], datasourceUrl: vm.url, evaluationInterval: '1s' });
      const pid = vmalert.pid;
      try {
        let firing: Awaited<ReturnType<typeof vmalert.alerts>> = [];
        const deadline = Date.now() + 20_000;
        for (let i = 0; i < 200 && Date.now() < deadline; i++) {
          firing = (await vmalert.alerts()).filter((a) => a.name === 'AlwaysFiring' && a.state === 'firing');
          if (firing.length > 0) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(firing.length, 1, 'AlwaysFiring never fired');
        assert.equal(firing[0]?.labels['severity'], 'test');
        assert.equal(firing[0]?.labels['alertname'], 'AlwaysFiring');
        assert.equal(firing[0]?.annotations['summary'], 'always firing');
      } finally {
        await vmalert.stop();
      }
      assert.ok(processGone(pid), `vmalert pid ${pid} still in /proc after stop()`);
      await vmalert.stop();
    } finally {
      await vm.stop();
    }
  });
});

describe('runVmalertTool', { skip }, () => {
  const rules = [
    'groups:',
    '  - name: tool',
    '    rules:',
    '      - alert: ProbeDown',
    '        expr: probe_up == 0',
    '        for: 1m',
    '        labels: { severity: page }',
    '',
  ].join('\n');
  function unitTest(expectedSeverity: string): string {
    return [
      'rule_files: [tool.rules.yml]',
      'evaluation_interval: 1m',
      'tests:',
      '  - interval: 1m',
      '    input_series:',
      '      - series: probe_up{unit="a.service"}',
      '        values: 1 0 0 0',
      '    alert_rule_test:',
      '      - eval_time: 3m',
      '        groupname: tool',
      '        alertname: ProbeDown',
      '        exp_alerts:',
      `          - exp_labels: { unit: a.service, severity: ${expectedSeverity} }`,
      '      - eval_time: 0m',
      '        groupname: tool',
      '        alertname: ProbeDown',
      '        exp_alerts: []',
      '',
    ].join('\n');
  }

  test('unittest passes on a right expectation and fails on a wrong one', async () => {
    await writeFile(join(scratch, 'tool.rules.yml'), rules);
    const good = join(scratch, 'good.test.yml');
    const bad = join(scratch, 'bad.test.yml');
    await writeFile(good, unitTest('page'));
    await writeFile(bad, unitTest('ticket'));

    const pass = await runVmalertTool(['unittest', '-files', good]);
    assert.equal(pass.code, 0, pass.stdout + pass.stderr);
    assert.match(pass.stdout, /SUCCESS/);

    const fail = await runVmalertTool(['unittest', '-files', bad]);
    assert.notEqual(fail.code, 0, fail.stdout + fail.stderr);
    assert.match(fail.stdout + fail.stderr, /FAILED/);
  });
});
