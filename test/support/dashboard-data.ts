/**
 * Real history for the dashboard test and its preview picture: the built exporter is run
 * several times for two hosts, each run replaying recorded systemd 252 output
 * (test/fixtures/seed-252) and pushing over OTLP to a real VictoriaMetrics.
 *
 * Each run sees the recording as if it had just been captured: the recording's clocks are
 * moved to now (see shiftClocks), so ages are the recorded ones rather than the difference
 * between two machines' uptimes. On top of that, step by step, two things happen that
 * systemd recorded separately:
 *   - hb-crashloop.service alternates between the recorded `running` state
 *     (show-props-all-timestamp-unix.txt) and the recorded `auto-restart` state
 *     (show-props-hb-crashloop-auto-restart.txt), NRestarts rising by one per cycle (4..7),
 *     and with it an InvocationID (a property these recordings lack) so the exporter counts starts;
 *   - hb-tick.timer (OnUnitActiveSec=2s) stops triggering after step 3: its last trigger is
 *     moved back by one step per later step, so its age crosses 2x its interval;
 *   - its job, hb-oneshot.service, finishes the runs of JOB_RUNS_BY_STEP until then: PID 1's
 *     run-finished journal entries of each step (the fake journalctl of that step prints them,
 *     so each run is read once), a new InvocationID per step with runs, and the run of step 2
 *     failed (ActiveState=failed, Result=exit-code in that step's `show`);
 *   - the crash before each auto-restart step is PID 1's failure entry in that step's journal;
 *   - in step RELOAD_FAILS_AT_STEP a reload of hb-ok.service fails (its journal entry).
 * Everything else (hb-failed.service failed with exit-code, does-not-exist.service not-found,
 * hb-stale.timer 3 days old) is exactly as recorded.
 *
 * The exporter stamps samples with the time it runs, so history is made by running it
 * `steps` times `gapMs` apart (bounded: steps x gap, plus the runs).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './cli.ts';
import { createReplay } from './replay.ts';
import { interpolate, timeVariables, type ExtractedQuery, type VariableState } from './grafana.ts';
import type { Labels, Victoria } from './victoria.ts';

const seed = (name: string): string =>
  readFileSync(new URL(`../fixtures/seed-252/${name}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .join('\n')
    .trim();

/**
 * When the recordings were made, on the recording machine's clocks. meta.txt pairs
 * realtime_us=1795369394287672 with /proc/uptime=17136.65 (no suspend there, so uptime is
 * CLOCK_MONOTONIC); the last event in the show recordings is at monotonic 17136.735 s.
 */
const CAPTURE_MONOTONIC_S = 17136.75;
const CAPTURE_REALTIME_S = 1795369394.287672 + (CAPTURE_MONOTONIC_S - 17136.65);

/** The hosts that push and their allowlists (kai-server's is the exporter test's). */
export const HOSTS: Readonly<Record<string, readonly string[]>> = {
  'kai-server': ['hb-ok.service', 'hb-crashloop.service', 'hb-oneshot.service', 'hb-tick.timer', 'hb-stale.*', 'does-not-exist.service'],
  'edge-1': ['hb-ok.service', 'hb-tick.timer'],
};

/** Time between two runs (the real exporter's is 30 s); the data source's scrape interval in tests. */
export const PUSH_GAP_MS = 2000;

/** Steps after which hb-tick.timer no longer triggers. */
export const TIMER_STALLS_AFTER_STEP = 3;

/**
 * hb-oneshot.service's finished runs per step, by Result: 4 successes and 1 exit-code in all,
 * none once the timer stalls. More than one in a step is the fast timer running between two
 * pushes, which only the journal sees.
 */
export const JOB_RUNS_BY_STEP: readonly (readonly string[])[] = [['success'], ['success', 'success'], ['exit-code'], ['success']];

const SUCCESS_MESSAGE_ID = '7ad2d189f7e94e70a38c781354912448';
const FAILURE_MESSAGE_ID = 'd9b373ed55a64feb8242e02dbe79a49c';
const RELOAD_DONE_MESSAGE_ID = '7b05ebc668384222baa8881179cfda54';
/** The step in which a reload of hb-ok.service fails (its journal entry; the recordings have no ReloadResult). */
export const RELOAD_FAILS_AT_STEP = 1;

/** PID 1's run-finished entries of step `step`, as `journalctl -o json` prints them, finished just before `nowS`. */
export function journalAtStep(step: number, nowS: number): string {
  const runs = JOB_RUNS_BY_STEP[step] ?? [];
  const lines = runs.map((result, i) =>
    JSON.stringify({
      __CURSOR: `s=replay;i=${step}-${i}`,
      __REALTIME_TIMESTAMP: String(Math.round((nowS - (runs.length - i) * 0.5) * 1e6)),
      MESSAGE_ID: result === 'success' ? SUCCESS_MESSAGE_ID : FAILURE_MESSAGE_ID,
      UNIT: 'hb-oneshot.service',
      ...(result === 'success' ? {} : { UNIT_RESULT: result }),
    }),
  );
  if (step % 2 === 1) {
    // The crash that put hb-crashloop.service into auto-restart in this step's show.
    lines.unshift(
      JSON.stringify({
        __CURSOR: `s=replay;i=${step}-crash`,
        __REALTIME_TIMESTAMP: String(Math.round((nowS - 1) * 1e6)),
        MESSAGE_ID: FAILURE_MESSAGE_ID,
        UNIT: 'hb-crashloop.service',
        UNIT_RESULT: 'exit-code',
      }),
    );
  }
  if (step === RELOAD_FAILS_AT_STEP) {
    // A reload of hb-ok.service whose ExecReload= failed, as PID 1 252 journals it (notes/systemd-252-journal.md).
    lines.unshift(
      JSON.stringify({
        __CURSOR: `s=replay;i=${step}-reload`,
        __REALTIME_TIMESTAMP: String(Math.round((nowS - 1.5) * 1e6)),
        MESSAGE_ID: RELOAD_DONE_MESSAGE_ID,
        UNIT: 'hb-ok.service',
        JOB_TYPE: 'reload',
        JOB_RESULT: 'failed',
        MESSAGE: 'Reload failed for hb-ok.service.',
      }),
    );
  }
  return lines.map((line) => `${line}\n`).join('');
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** "Sun 2026-11-22 17:43:14 UTC", as systemctl prints it with TZ=UTC. */
function formatRealtime(seconds: number): string {
  const d = new Date(Math.floor(seconds) * 1000);
  const iso = d.toISOString();
  return `${WEEKDAYS[d.getUTCDay()]} ${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

function parseRealtimeText(text: string): number | undefined {
  const unix = /^@(\d+)$/.exec(text);
  if (unix) return Number(unix[1]);
  const human = /^[A-Z][a-z]{2} (\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) UTC$/.exec(text);
  return human ? Date.parse(`${human[1]}T${human[2]}Z`) / 1000 : undefined;
}

/** "4h 45min 36.644591s", systemd's format_timespan at microsecond accuracy. */
function formatTimespan(seconds: number): string {
  const us = Math.max(1, Math.round(seconds * 1e6));
  const d = Math.floor(us / 86_400e6);
  const h = Math.floor((us % 86_400e6) / 3_600e6);
  const min = Math.floor((us % 3_600e6) / 60e6);
  const rest = (us % 60e6) / 1e6;
  const parts = [d ? `${d}d` : '', h ? `${h}h` : '', min ? `${min}min` : '', rest ? `${Number(rest.toFixed(6))}s` : ''];
  return parts.filter((p) => p !== '').join(' ');
}

function parseTimespanText(text: string): number | undefined {
  const units: Record<string, number> = { d: 86400, h: 3600, min: 60, s: 1, ms: 1e-3, us: 1e-6 };
  let total = 0;
  let seen = false;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(d|h|min|ms|us|s)(?![a-z])/g)) {
    total += Number(m[1]) * (units[m[2] as string] as number);
    seen = true;
  }
  return seen ? total : undefined;
}

/**
 * Moves every clock reading of `show` output by the given amounts: `*TimestampMonotonic`
 * (microseconds), the monotonic timespans (LastTriggerUSecMonotonic, NextElapseUSecMonotonic,
 * TimersMonotonic's next_elapse) and the realtime `*Timestamp` / LastTriggerUSec. 0 and empty
 * mean "never" and stay so; calendar elapses (OnCalendar's next_elapse, NextElapseUSecRealtime)
 * are wall-clock appointments and stay too.
 */
export function shiftClocks(show: string, monotonicS: number, realtimeS: number): string {
  return show
    .split('\n')
    .map((line) => {
      const eq = line.indexOf('=');
      if (eq < 0) return line;
      const key = line.slice(0, eq);
      const value = line.slice(eq + 1);
      if (/TimestampMonotonic$/.test(key) && /^\d+$/.test(value)) {
        if (value === '0') return line;
        return `${key}=${Math.max(1, Number(value) + Math.round(monotonicS * 1e6))}`;
      }
      if (key === 'LastTriggerUSecMonotonic' || key === 'NextElapseUSecMonotonic') {
        const s = parseTimespanText(value);
        return s === undefined || s === 0 ? line : `${key}=${formatTimespan(s + monotonicS)}`;
      }
      if (key === 'TimersMonotonic') {
        return line.replace(/next_elapse=([^}]*?)\s*\}/, (whole, span: string) => {
          const s = parseTimespanText(span);
          return s === undefined ? whole : `next_elapse=${formatTimespan(s + monotonicS)} }`;
        });
      }
      if (/Timestamp$/.test(key) || key === 'LastTriggerUSec') {
        const t = parseRealtimeText(value);
        if (t === undefined) return line;
        return `${key}=${value.startsWith('@') ? `@${Math.round(t + realtimeS)}` : formatRealtime(t + realtimeS)}`;
      }
      return line;
    })
    .join('\n');
}

/** The unit records of `show` output, keyed by Id= (records are separated by a blank line). */
function records(show: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const block of show.split(/\n\s*\n/)) {
    const id = /^Id=(.*)$/m.exec(block)?.[1];
    if (id) out.set(id, block.trim());
  }
  return out;
}

function setProperty(record: string, key: string, value: string): string {
  const re = new RegExp(`^${key}=.*$`, 'm');
  if (!re.test(record)) throw new Error(`recording has no ${key}= to change`);
  return record.replace(re, `${key}=${value}`);
}

/** Moves a timer's last trigger `seconds` earlier (both the monotonic and the realtime reading). */
function triggerEarlier(record: string, seconds: number): string {
  return record
    .split('\n')
    .map((line) => (line.startsWith('LastTriggerUSec') ? shiftClocks(line, -seconds, -seconds) : line))
    .join('\n');
}

/** The `systemctl show` output at step `step`, still on the recording's clocks. */
export function showAtStep(step: number, gapS: number): string {
  const all = records(seed('show-props-all-timestamp-unix.txt'));
  const missing = records(seed('show-nonexistent-props.txt'));
  const autoRestart = records(seed('show-props-hb-crashloop-auto-restart.txt')).get('hb-crashloop.service');
  const running = all.get('hb-crashloop.service');
  const tick = all.get('hb-tick.timer');
  if (!autoRestart || !running || !tick) throw new Error('seed-252 recordings changed: hb-crashloop.service / hb-tick.timer missing');
  const restarts = 4 + Math.floor(step / 2);
  // Each restart is a new invocation: InvocationID (not in these recordings) changes with NRestarts.
  const invocation = `InvocationID=${restarts.toString(16).padStart(32, '0')}`;
  all.set('hb-crashloop.service', `${setProperty(step % 2 === 0 ? running : autoRestart, 'NRestarts', String(restarts))}\n${invocation}`);
  const stalled = Math.max(0, step - TIMER_STALLS_AFTER_STEP);
  if (stalled > 0) all.set('hb-tick.timer', triggerEarlier(tick, stalled * gapS));
  const oneshot = all.get('hb-oneshot.service');
  if (!oneshot) throw new Error('seed-252 recordings changed: hb-oneshot.service missing');
  // The latest step with runs is the latest invocation; its last run's Result is what `show` says.
  const lastRunStep = Math.min(step, JOB_RUNS_BY_STEP.length - 1);
  const failed = JOB_RUNS_BY_STEP[lastRunStep]?.at(-1) === 'exit-code';
  let job = `${oneshot}\nInvocationID=${(0xa0 + lastRunStep).toString(16).padStart(32, '0')}`;
  if (failed) {
    for (const [key, value] of [
      ['ActiveState', 'failed'],
      ['SubState', 'failed'],
      ['Result', 'exit-code'],
      ['ExecMainStatus', '1'],
    ] as const) {
      job = setProperty(job, key, value);
    }
  }
  all.set('hb-oneshot.service', job);
  return `${[...all.values(), ...missing.values()].join('\n\n')}\n`;
}

export interface History {
  readonly fromMs: number;
  readonly toMs: number;
  readonly steps: number;
  readonly hosts: readonly string[];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs the built exporter `steps` times per host, `gapMs` apart, each run pushing to `vm`.
 * A run that fails (exit code, stderr) fails the whole thing: the dashboard must be shown
 * real pushes, not partial ones.
 */
export async function pushHistory(vm: Victoria, opts: { steps?: number; gapMs?: number } = {}): Promise<History> {
  const steps = opts.steps ?? 8;
  const gapMs = opts.gapMs ?? PUSH_GAP_MS;
  const listUnits = seed('list-units-all-output-json.txt');
  // One state directory per host for the whole history, as on a real host.
  const stateDirs = Object.fromEntries(Object.keys(HOSTS).map((h) => [h, mkdtempSync(join(tmpdir(), `hb-dash-${h}-`))]));
  const fromMs = Date.now();
  try {
    for (let step = 0; step < steps; step++) {
      const due = fromMs + step * gapMs;
      if (Date.now() < due) await sleep(Math.min(due - Date.now(), gapMs));
      const nowMonotonicS = Number(process.hrtime.bigint() / 1000n) / 1e6;
      const show = shiftClocks(showAtStep(step, gapMs / 1000), nowMonotonicS - CAPTURE_MONOTONIC_S, Date.now() / 1000 - CAPTURE_REALTIME_S);
      const replay = createReplay({ listUnits, show, journal: journalAtStep(step, Date.now() / 1000) });
      try {
        for (const [host, units] of Object.entries(HOSTS)) {
          const result = await runCli(['--host', host, ...units.flatMap((u) => ['--unit', u])], {
            SYSTEMD_HEARTBEAT_SYSTEMCTL: replay.systemctl,
            OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: vm.otlpUrl,
            SYSTEMD_HEARTBEAT_STATE_DIR: stateDirs[host] as string,
          });
          if (result.code !== 0 || result.stderr !== '') {
            throw new Error(`exporter run ${step} for ${host} exited ${String(result.code)}: ${result.stderr.trim()}`);
          }
        }
      } finally {
        replay.remove();
      }
    }
  } finally {
    for (const dir of Object.values(stateDirs)) rmSync(dir, { recursive: true, force: true });
  }
  await vm.flush();
  return { fromMs, toMs: Date.now(), steps, hosts: Object.keys(HOSTS) };
}

export interface QueryRange {
  readonly fromMs: number;
  readonly toMs: number;
  /** The data source's scrape interval (floor of $__interval). */
  readonly scrapeIntervalMs: number;
}

export interface QueriedSeries {
  readonly metric: Labels;
  readonly values: number[];
  /** ms; one for an instant query */
  readonly timestamps: number[];
  /** The expression as sent, after interpolation. */
  readonly expr: string;
}

/**
 * One dashboard target as Grafana would run it: variables and $__interval/$__rate_interval/
 * $__range interpolated, an instant query at the end of the range or a range query with
 * Grafana's step (panel width 1000 points).
 */
export async function runDashboardQuery(
  vm: Victoria,
  q: ExtractedQuery,
  vars: Readonly<Record<string, VariableState>>,
  range: QueryRange,
): Promise<QueriedSeries[]> {
  const t = timeVariables({ fromMs: range.fromMs, toMs: range.toMs, maxDataPoints: 1000, scrapeIntervalMs: range.scrapeIntervalMs });
  const expr = interpolate(q.target.expr, vars, t.builtins);
  if (q.target.instant) {
    return (await vm.query(expr, range.toMs)).map((s) => ({ metric: s.metric, values: [s.value], timestamps: [s.timestamp], expr }));
  }
  const matrix = await vm.queryRange(expr, range.fromMs, range.toMs, `${t.stepMs / 1000}s`);
  return matrix.map((s) => ({ metric: s.metric, values: s.values, timestamps: s.timestamps, expr }));
}
