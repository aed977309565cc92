/**
 * One definition of each threshold the summary and the alert rules share: the rule template's
 * declared defaults are src/thresholds.ts's ALERT_TUNABLES, and the summary's queries and
 * findings use those (a restart loop that paged is a restart loop in the next report).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseDuration } from '../src/duration.ts';
import { findLoops } from '../src/summary/findings.ts';
import { SUMMARY_QUERIES } from '../src/summary/queries.ts';
import { ALERT_TUNABLES } from '../src/thresholds.ts';
import { TEMPLATE_PATH, parseTunables } from '../scripts/render-alert-rules.ts';

const declared = new Map(parseTunables(readFileSync(TEMPLATE_PATH, 'utf8')).map((t) => [t.name, t.defaultValue]));

test("the alert template's defaults are the summary's thresholds", () => {
  for (const [name, value] of Object.entries(ALERT_TUNABLES)) {
    const text = declared.get(name);
    assert.ok(text !== undefined, `the template declares ${name}`);
    const asNumber = /^\d+(\.\d+)?$/.test(text) ? Number(text) : parseDuration(text, { field: name, minMs: 0, maxMs: 86_400_000 }) / 1000;
    assert.equal(asNumber, value, `${name}: template ${text}, src/thresholds.ts ${value}`);
  }
});

test('the summary judges by those thresholds: its queries and its loop rule', () => {
  assert.match(SUMMARY_QUERIES.staleTimers.query, new RegExp(`\\(${ALERT_TUNABLES.STALE_FACTOR} \\* last_over_time`));
  assert.match(SUMMARY_QUERIES.restarts.query, new RegExp(`\\[${ALERT_TUNABLES.RESTART_WINDOW}s\\]`));
  // Exactly RESTART_THRESHOLD restarts inside one RESTART_WINDOW: no loop; one more: a loop.
  const spaced = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ time: 1000 + (i * (ALERT_TUNABLES.RESTART_WINDOW - 1)) / n, value: 1 }));
  assert.deepEqual(findLoops(spaced(ALERT_TUNABLES.RESTART_THRESHOLD)), []);
  assert.equal(findLoops(spaced(ALERT_TUNABLES.RESTART_THRESHOLD + 1)).length, 1);
});
