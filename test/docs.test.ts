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

const esc = (s: string): string => s.replace(/\|/g, '\\|');
const labelsOf = (m: (typeof METRICS)[number]): string => m.labels.map((l) => `\`${l}\``).join(', ');

/** The README's table: what a user queries by. */
export function renderMetricsTable(): string {
  const rows = METRICS.map((m) => `| \`${m.name}\` | ${m.type} | ${labelsOf(m)} | ${esc(m.help)} |`);
  return ['| name | type | labels | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

/** docs/metrics.md's table: every field of each definition, the systemd property it comes from included. */
export function renderFullMetricsTable(): string {
  const rows = METRICS.map((m) => `| \`${m.name}\` | ${m.type} | ${esc(m.unit)} | ${labelsOf(m)} | ${esc(m.source)} | ${esc(m.help)} |`);
  return ['| name | type | unit | labels | source | meaning |', '|---|---|---|---|---|---|', ...rows].join('\n');
}

/** The generated part of `url` between the markers is `expected` (UPDATE_GOLDEN=1 rewrites it). */
function assertGenerated(url: URL, expected: string): void {
  const text = readFileSync(url, 'utf8');
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  assert.ok(start >= 0 && end > start, `${url.pathname} has the metrics table markers`);
  const current = text.slice(start + START.length, end).trim();
  if (process.env.UPDATE_GOLDEN === '1' && current !== expected) {
    writeFileSync(url, `${text.slice(0, start + START.length)}\n${expected}\n${text.slice(end)}`);
    return;
  }
  assert.equal(current, expected);
}

test('README metrics table is the definitions list', () => {
  assertGenerated(readmeUrl, renderMetricsTable());
});

test('docs/metrics.md has every definition in full', () => {
  assertGenerated(new URL('../docs/metrics.md', import.meta.url), renderFullMetricsTable());
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
