/**
 * The alert rules cannot drift from the code or the runbook, and each one is proven to fire
 * and not to fire by a real vmalert-tool (VictoriaMetrics 1.112.0):
 * - the shipped rule file is the template rendered with its defaults (UPDATE_GOLDEN=1 rewrites it);
 * - `vmalert -dryRun` accepts it (and rejects a broken copy, so the check can fail);
 * - every alerts/tests/*.yml passes `vmalert-tool unittest`;
 * - every metric the rules query is in METRICS, every runbook_url anchor is a RUNBOOK.md heading;
 * - every alert has a named test that it fires and one that it does not.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { fileURLToPath } from 'node:url';
import { METRIC_NAMES } from '../src/metrics/definitions.ts';
import { parseTunables, RULES_PATH, renderRuleFile, renderRules, TEMPLATE_PATH } from '../scripts/render-alert-rules.ts';
import { skipReason } from './support/cli.ts';
import { runVmalertTool, victoriaUnavailable, VM_BIN_DIR } from './support/victoria.ts';

const ALERTS_DIR = fileURLToPath(new URL('../alerts/', import.meta.url));
const TESTS_DIR = join(ALERTS_DIR, 'tests');
const RUNBOOK = fileURLToPath(new URL('../RUNBOOK.md', import.meta.url));
const README = fileURLToPath(new URL('../README.md', import.meta.url));

const vmSkip = skipReason(victoriaUnavailable());

// ---------------------------------------------------------------------------------------------
// The rule file, read with a YAML parser: groups > rules > alert/expr/labels/annotations.

interface AlertRule {
  readonly group: string;
  readonly alert: string;
  readonly expr: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}

interface RuleFile {
  groups: Array<{ name: string; rules: Array<Partial<AlertRule> & { record?: string }> }>;
}

function parseRuleFile(text: string): AlertRule[] {
  const file = parseYaml(text) as RuleFile;
  return file.groups.flatMap((group) =>
    group.rules
      .filter((rule) => rule.alert !== undefined)
      .map((rule) => ({
        group: group.name,
        alert: rule.alert as string,
        expr: String(rule.expr ?? '')
          .replace(/\s+/g, ' ')
          .trim(),
        labels: Object.fromEntries(Object.entries(rule.labels ?? {}).map(([k, v]) => [k, String(v)])),
        annotations: Object.fromEntries(Object.entries(rule.annotations ?? {}).map(([k, v]) => [k, String(v).trimEnd()])),
      })),
  );
}

const PROMQL_WORDS = new Set(['by', 'on', 'and', 'or', 'unless', 'without', 'ignoring', 'group_left', 'group_right', 'bool', 'offset']);

/** Metric names a MetricsQL expression selects: identifiers that are not functions, keywords, labels or durations. */
function metricNamesIn(expr: string): Set<string> {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // string literals: label values, label_set arguments
    .replace(/\b(by|on|without|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\{[^}]*\}/g, ' ') // matchers
    .replace(/\[[^\]]*\]/g, ' '); // range durations
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = m[0];
    const after = stripped.slice((m.index ?? 0) + word.length).trimStart();
    if (after.startsWith('(') || PROMQL_WORDS.has(word)) continue;
    names.add(word);
  }
  return names;
}

/** Queries embedded in annotations: {{ ... printf "QUERY" ... | query }}. */
function annotationQueries(annotations: Record<string, string>): string[] {
  const queries: string[] = [];
  for (const text of Object.values(annotations)) {
    for (const m of text.matchAll(/printf\s+"((?:[^"\\]|\\.)*)"[^}]*\|\s*query/g))
      queries.push(JSON.parse(`"${m[1] as string}"`) as string);
  }
  return queries;
}

/** GitHub's anchor for a Markdown heading. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

const shipped = readFileSync(RULES_PATH, 'utf8');
const rules = parseRuleFile(shipped);
const alertNames = [...new Set(rules.map((r) => r.alert))];

test('the rule file reader sees every rule of the shipped file', () => {
  assert.equal(rules.length, (shipped.match(/^\s+- alert: /gm) ?? []).length);
  assert.ok(alertNames.length >= 6, `six alerts at least, got ${alertNames.join(', ')}`);
  for (const required of [
    'SystemdUnitRestartLoop',
    'SystemdTimerStale',
    'SystemdUnitFailed',
    'SystemdUnitMissing',
    'SystemdHeartbeatAbsent',
    'SystemdMassRestart',
    'SystemdTimerJobFailing',
    'SystemdTimerWillNotFire',
  ]) {
    assert.ok(alertNames.includes(required), `${required} is defined`);
  }
  for (const rule of rules) {
    assert.ok(rule.expr.length > 10, `${rule.alert} has an expression`);
    assert.match(rule.labels['severity'] ?? '', /^(critical|warning)$/, `${rule.alert} has a severity`);
    for (const key of ['summary', 'description', 'runbook_url']) {
      assert.ok((rule.annotations[key] ?? '') !== '', `${rule.alert} has ${key}`);
    }
    assert.ok(!/\$\{/.test(rule.expr + JSON.stringify(rule.annotations)), `${rule.alert} has no unrendered tunable`);
  }
});

test('the shipped rule file is the template rendered with its defaults', () => {
  const expected = renderRuleFile();
  if (process.env.UPDATE_GOLDEN === '1' && shipped !== expected) {
    writeFileSync(RULES_PATH, expected);
    return;
  }
  assert.equal(shipped, expected, 'run: node --import tsx scripts/render-alert-rules.ts --write');
});

test('rendering substitutes tunables everywhere and refuses unknown or malformed ones', () => {
  const template = readFileSync(TEMPLATE_PATH, 'utf8');
  const tunables = parseTunables(template);
  // The documented knobs (issue 5); later alerts may add more.
  for (const name of ['RESTART_WINDOW', 'RESTART_THRESHOLD', 'FAILED_FOR', 'STALE_FACTOR', 'HEARTBEAT_ABSENT_SECONDS', 'RUNBOOK_URL']) {
    assert.ok(
      tunables.some((t) => t.name === name),
      `the template declares ${name}`,
    );
  }
  assert.deepEqual(
    tunables
      .filter((t) => ['RESTART_WINDOW', 'RESTART_THRESHOLD', 'STALE_FACTOR'].includes(t.name))
      .map((t) => `${t.name}=${t.defaultValue}:${t.kind}`),
    ['RESTART_WINDOW=5m:duration', 'RESTART_THRESHOLD=3:number', 'STALE_FACTOR=2:number'],
    'the seed spec: more than 3 restarts in 5 minutes; stale after 2x the interval',
  );
  const tuned = parseRuleFile(
    renderRules(template, { FAILED_FOR: '17s', RESTART_THRESHOLD: '42', RUNBOOK_URL: 'https://runbooks.test/RUNBOOK.md' }),
  );
  const loop = tuned.find((r) => r.alert === 'SystemdUnitRestartLoop');
  assert.match(loop?.expr ?? '', /\) > 42$/);
  assert.match(loop?.annotations['description'] ?? '', /more than 42\)/);
  assert.equal(loop?.annotations['runbook_url'], 'https://runbooks.test/RUNBOOK.md#systemdunitrestartloop');
  const tunedText = renderRules(template, { FAILED_FOR: '17s' });
  assert.match(tunedText, /^#\s+FAILED_FOR = 17s: /m, 'the header shows the value used');
  assert.equal((tunedText.match(/for: 17s/g) ?? []).length, 2, 'both SystemdUnitFailed rules');
  assert.throws(() => renderRules(template, { NOT_A_TUNABLE: '1' }), /unknown alert tunable NOT_A_TUNABLE/);
  assert.throws(() => renderRules(template, { RESTART_WINDOW: '5 minutes' }), /RESTART_WINDOW.*not a duration/);
  assert.throws(() => renderRules(template, { RESTART_THRESHOLD: '3; drop' }), /not a number/);
  assert.throws(() => renderRules(template, { RUNBOOK_URL: "x' or '1" }), /not a url/);
  assert.throws(() => renderRules(`${template}\n# \${UNDECLARED}\n`), /UNDECLARED/);
  assert.throws(() => renderRules(`#   EXTRA = 5m: never used\n${template}`), /EXTRA but never uses it/);
});

test('every metric the rules query is defined in src/metrics/definitions.ts', () => {
  const used = new Set<string>();
  for (const rule of rules) {
    for (const query of [rule.expr, ...annotationQueries(rule.annotations)]) {
      for (const name of metricNamesIn(query)) used.add(name);
    }
  }
  // Second net: any systemd_* token anywhere in the rules (outside comments).
  const body = shipped
    .split('\n')
    .filter((l) => !l.trimStart().startsWith('#'))
    .join('\n');
  for (const m of body.matchAll(/\bsystemd_[a-z0-9_]+/g)) used.add(m[0]);
  for (const name of used) assert.ok(METRIC_NAMES.has(name), `${name} (used in the rules) is not in METRICS`);
  // The extraction is not vacuous.
  for (const name of [
    'systemd_unit_restart_count_total',
    'systemd_unit_starts_total',
    'systemd_unit_failed',
    'systemd_unit_loaded',
    'systemd_timer_interval_seconds',
    'systemd_unit_seconds_since_active',
    'systemd_heartbeat_last_run_timestamp_seconds',
  ]) {
    assert.ok(used.has(name), `the rules use ${name}`);
  }
  assert.deepEqual(
    [...metricNamesIn('max by (host, unit) (label_set(increase_prometheus(a_total{x="y"}[5m]), "c", "d") or b) > 3')].sort(),
    ['a_total', 'b'],
  );
});

test('every runbook_url points at a RUNBOOK.md section, and every alert has one', () => {
  const runbook = readFileSync(RUNBOOK, 'utf8');
  const anchors = new Set([...runbook.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => slug(m[1] as string)));
  for (const rule of rules) {
    const url = rule.annotations['runbook_url'] ?? '';
    const hash = url.indexOf('#');
    assert.ok(hash > 0, `${rule.alert}: runbook_url has an anchor`);
    assert.ok(url.slice(0, hash).endsWith('RUNBOOK.md'), `${rule.alert}: runbook_url points at RUNBOOK.md`);
    const anchor = url.slice(hash + 1);
    assert.ok(anchors.has(anchor), `${rule.alert}: RUNBOOK.md has no heading for #${anchor}`);
    assert.equal(anchor, slug(rule.alert), `${rule.alert}: its runbook section is named after it`);
  }
  for (const name of alertNames) {
    const section = runbook.split(/^## /m).find((s) => s.startsWith(`${name}\n`)) ?? '';
    for (const part of ['**Meaning.**', '**Impact.**', '**Diagnosis.**', '**Mitigation.**']) {
      assert.ok(section.includes(part), `RUNBOOK.md ${name} has ${part}`);
    }
    assert.match(section, /systemctl (status|list-timers)/, `RUNBOOK.md ${name} shows a systemctl command`);
    assert.match(section, /journalctl -u .* --since/, `RUNBOOK.md ${name} shows a journalctl command`);
  }
});

test('alerts/README.md documents every tunable with its default; README Alerts names every alert', () => {
  const tunables = readFileSync(new URL('../alerts/README.md', import.meta.url), 'utf8');
  for (const t of parseTunables(readFileSync(TEMPLATE_PATH, 'utf8'))) {
    assert.ok(
      tunables.includes(`\`${t.name}\` | \`${t.defaultValue}\``),
      `alerts/README.md tunables table has | \`${t.name}\` | \`${t.defaultValue}\` |`,
    );
  }
  const readme = readFileSync(README, 'utf8');
  const start = readme.indexOf('## Alerts');
  assert.ok(start >= 0, 'README has an Alerts section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  assert.ok(section.includes('](alerts/README.md)'), 'README points at the tunables');
  for (const name of alertNames) assert.ok(section.includes(name), `README Alerts section names ${name}`);
});

// ---------------------------------------------------------------------------------------------
// The tests under alerts/tests: one firing and one not-firing named test per alert.

interface AlertCheck {
  readonly testName: string;
  readonly alertname: string;
  readonly fires: boolean;
  readonly runbookExpected: boolean;
}

interface TestFile {
  tests: Array<{
    name: string;
    alert_rule_test?: Array<{ alertname: string; exp_alerts?: Array<{ exp_annotations?: Record<string, string> }> }>;
  }>;
}

function parseTestFile(text: string): AlertCheck[] {
  const file = parseYaml(text) as TestFile;
  return file.tests.flatMap((t) =>
    (t.alert_rule_test ?? []).map((check) => {
      const fires = (check.exp_alerts ?? []).length > 0;
      const runbooks = (check.exp_alerts ?? []).every((a) => a.exp_annotations?.runbook_url !== undefined);
      return { testName: t.name, alertname: check.alertname, fires, runbookExpected: !fires || runbooks };
    }),
  );
}

const testFiles = readdirSync(TESTS_DIR)
  .filter((f) => f.endsWith('.yml'))
  .sort();

test('every alert has a named firing test and a named not-firing test', () => {
  assert.ok(testFiles.length >= 6);
  const checks = testFiles.flatMap((f) => parseTestFile(readFileSync(join(TESTS_DIR, f), 'utf8')));
  for (const check of checks) {
    assert.ok(alertNames.includes(check.alertname), `test "${check.testName}" checks an alert that exists: ${check.alertname}`);
    assert.ok(check.runbookExpected, `test "${check.testName}" expects the runbook_url of what fires`);
  }
  for (const name of alertNames) {
    const firing = checks.filter((c) => c.alertname === name && c.fires);
    const quiet = checks.filter((c) => c.alertname === name && !c.fires && /not fire/.test(c.testName));
    assert.ok(firing.length > 0, `${name} has a test that it fires`);
    assert.ok(quiet.length > 0, `${name} has a test named "... does not fire ..." that it stays quiet`);
  }
});

for (const file of testFiles) {
  test(`vmalert-tool unittest alerts/tests/${file}`, { skip: vmSkip }, async () => {
    const result = await runVmalertTool(['unittest', `--files=${join(TESTS_DIR, file)}`]);
    const output = `${result.stdout}\n${result.stderr}`;
    assert.equal(result.code, 0, output);
    assert.match(result.stdout, /SUCCESS/, output);
    assert.doesNotMatch(output, /FAILED/, output);
  });
}

test('vmalert-tool unittest fails on a wrong expectation (the check can fail)', { skip: vmSkip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'alerts-neg-'));
  try {
    const wrong = readFileSync(join(TESTS_DIR, 'restart-loop.yml'), 'utf8')
      .replace('rule_files:\n  - ../systemd-heartbeat.rules.yml', `rule_files:\n  - ${RULES_PATH}`)
      .replace('restarted 9 times', 'restarted 8 times');
    assert.ok(wrong.includes('restarted 8 times') && wrong.includes(RULES_PATH));
    writeFileSync(join(dir, 'wrong.yml'), wrong);
    const result = await runVmalertTool(['unittest', `--files=${join(dir, 'wrong.yml')}`]);
    assert.notEqual(result.code, 0);
    assert.match(result.stdout, /restarted 9 times/, 'the tool reports what actually fired');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function runVmalertDryRun(ruleFile: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(join(VM_BIN_DIR, 'vmalert'), ['-dryRun', `-rule=${ruleFile}`], { timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, output: `${stdout}\n${stderr}` });
    });
  });
}

test('vmalert -dryRun accepts the shipped rule file and rejects a broken copy', { skip: vmSkip }, async () => {
  const ok = await runVmalertDryRun(RULES_PATH);
  assert.equal(ok.code, 0, ok.output);
  const dir = mkdtempSync(join(tmpdir(), 'alerts-dry-'));
  try {
    const broken = join(dir, 'broken.rules.yml');
    writeFileSync(broken, shipped.replace(') > 3\n', ') > 3 +\n'));
    assert.notEqual(readFileSync(broken, 'utf8'), shipped);
    const bad = await runVmalertDryRun(broken);
    assert.notEqual(bad.code, 0, 'vmalert -dryRun should refuse an unparsable expression');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
