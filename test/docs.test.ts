/**
 * README tables cannot drift from the code: the metrics table is rendered from the
 * definitions (UPDATE_GOLDEN=1 rewrites it), every flag of --help is in the configuration
 * table, and every environment variable the config reads is documented.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { METRICS } from '../src/metrics/definitions.ts';
import { USAGE } from '../src/cli.ts';

const readmeUrl = new URL('../README.md', import.meta.url);
const START = '<!-- metrics-table:start (generated from src/metrics/definitions.ts; UPDATE_GOLDEN=1 npm test rewrites it) -->';
const END = '<!-- metrics-table:end -->';

export function renderMetricsTable(): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const rows = METRICS.map(
    (m) =>
      `| \`${m.name}\` | ${m.type} | ${esc(m.unit)} | ${m.labels.map((l) => `\`${l}\``).join(', ')} | ${esc(m.source)} | ${esc(m.help)} |`,
  );
  return ['| name | type | unit | labels | source | meaning |', '|---|---|---|---|---|---|', ...rows].join('\n');
}

test('README metrics table is the definitions list', () => {
  const readme = readFileSync(readmeUrl, 'utf8');
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  assert.ok(start >= 0 && end > start, 'README has the metrics table markers');
  const current = readme.slice(start + START.length, end).trim();
  const expected = renderMetricsTable();
  if (process.env.UPDATE_GOLDEN === '1' && current !== expected) {
    writeFileSync(readmeUrl, `${readme.slice(0, start + START.length)}\n${expected}\n${readme.slice(end)}`);
    return;
  }
  assert.equal(current, expected);
});

test('every flag of --help and every environment variable is in the README configuration table', () => {
  const readme = readFileSync(readmeUrl, 'utf8');
  const flags = new Set([...USAGE.matchAll(/--[a-z-]+/g)].map((m) => m[0]));
  for (const flag of flags) assert.ok(readme.includes(`\`${flag}`), `README documents ${flag}`);
  const configSource = readFileSync(new URL('../src/config.ts', import.meta.url), 'utf8');
  const envVars = new Set([...configSource.matchAll(/env\.([A-Z_]+)/g)].map((m) => m[1] as string));
  assert.ok(envVars.size >= 8);
  for (const v of envVars) assert.ok(readme.includes(`\`${v}\``), `README documents ${v}`);
});
