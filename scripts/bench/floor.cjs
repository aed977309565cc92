#!/usr/bin/env node
'use strict';
/**
 * The floor of `npm run bench`: the least a tick can do and still push the same payload.
 * Zero dependencies, one CommonJS file (Node's fastest loader path), nothing imported that the
 * push does not use. It does the same physical work as the shipped tick:
 *   - the same spawns: systemctl list-units --output=json, one systemctl show for every unit,
 *     one journalctl for the timers' jobs' finished runs after the saved cursor,
 *   - a glob match of the allowlist and a parse of the three outputs,
 *   - the same observations (names, labels, values; checked by scripts/bench.ts against the
 *     tick's --dry-run --format json before anything is timed),
 *   - the state directory: O_EXCL lock, state.json read, spool dir listed, state.json
 *     written to a temporary name, fsynced and renamed,
 *   - one OTLP/HTTP protobuf request (encoded by hand below) to VictoriaMetrics, status checked.
 * It handles only what the benchmark's data holds (e.g. a calendar timer with a full date
 * does not repeat); it is a yardstick, not a second exporter.
 *
 * Configuration comes from the same environment variables the CLI reads:
 * SYSTEMD_HEARTBEAT_UNITS (comma-separated names or globs), SYSTEMD_HEARTBEAT_HOST,
 * SYSTEMD_HEARTBEAT_STATE_DIR, OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, SYSTEMD_HEARTBEAT_SYSTEMCTL,
 * SYSTEMD_HEARTBEAT_JOURNALCTL.
 * `--print` prints the observations as JSON (like `--dry-run --format json`) and pushes nothing.
 *
 * `--bare POINTS` is the bare floor (issue 23): the same systemctl calls with the same
 * arguments, one journalctl with the same options (naming every unit it showed, from a time:
 * it reads no Unit= and keeps no cursor), the same state-directory work (lock, state.json read and written as bytes), but nothing parsed
 * beyond the unit names in list-units' output (matched against the allowlist); show's and
 * journalctl's output only read. It pushes POINTS data points (the tick's count, given by the
 * bench) of the tick's metric names, labelled unit and host, hand-encoded as above.
 */
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');

const env = process.env;
const print = process.argv.includes('--print');
const bareAt = process.argv.indexOf('--bare');
const barePoints = bareAt >= 0 ? Number(process.argv[bareAt + 1]) : undefined;
const patterns = (env.SYSTEMD_HEARTBEAT_UNITS || '').split(',').filter((p) => p !== '');
const host = env.SYSTEMD_HEARTBEAT_HOST || require('node:os').hostname();
const stateDir = env.SYSTEMD_HEARTBEAT_STATE_DIR || '/var/lib/systemd-heartbeat';
const endpoint = new URL(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT || 'http://127.0.0.1:8428/opentelemetry/v1/metrics');
const binary = env.SYSTEMD_HEARTBEAT_SYSTEMCTL || 'systemctl';
const journalBinary = env.SYSTEMD_HEARTBEAT_JOURNALCTL || 'journalctl';
const PROPS =
  'Id,Names,LoadState,ActiveState,SubState,Result,NRestarts,ExecMainStatus,ExecMainExitTimestampMonotonic,' +
  'InactiveExitTimestampMonotonic,InactiveEnterTimestampMonotonic,ActiveExitTimestampMonotonic,InvocationID,Unit,TimersMonotonic,TimersCalendar,' +
  'LastTriggerUSec,LastTriggerUSecMonotonic,NextElapseUSecRealtime,NextElapseUSecMonotonic,ReloadResult,ConditionResult,ConditionTimestampMonotonic';
const childEnv = { LC_ALL: 'C', TZ: 'UTC', SYSTEMD_PAGER: '', SYSTEMD_COLORS: '0', PATH: env.PATH || '/usr/bin:/bin' };

function spawn(file, args) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env: childEnv, maxBuffer: 1 << 28, encoding: 'utf8' }, (e, out) => (e ? reject(e) : resolve(out)));
  });
}
const systemctl = (args) => spawn(binary, ['--system', '--no-pager', ...args]);
const SUCCESS_ID = '7ad2d189f7e94e70a38c781354912448';
const FAILURE_ID = 'd9b373ed55a64feb8242e02dbe79a49c';
const RELOAD_ID = '7b05ebc668384222baa8881179cfda54';
const START_ID = '39f53479d3a045ac8e11786248231fbf';

function monotonicNow() {
  return Number(process.hrtime.bigint() / 1000n) / 1e6;
}

const SPAN = { y: 31557600, month: 2629800, w: 604800, d: 86400, h: 3600, min: 60, s: 1, ms: 1e-3, us: 1e-6 };
function timespan(text) {
  if (!text || text === '0') return undefined;
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(month|min|ms|us|y|w|d|h|s)/g)) total += Number(m[1]) * SPAN[m[2]];
  return total > 0 ? total : undefined;
}
function realtime(text) {
  if (!text) return undefined;
  if (text[0] === '@') return Number(text.slice(1));
  const m = /(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d) UTC$/.exec(text);
  return m ? Date.UTC(+m[1], m[2] - 1, +m[3], +m[4], +m[5], +m[6]) / 1000 : undefined;
}
function micros(text) {
  const n = Number(text);
  return text && n > 0 ? n / 1e6 : undefined;
}
function count(text) {
  return text !== undefined && /^-?\d+$/.test(text) ? Number(text) : undefined;
}

function globRe(glob) {
  return new RegExp(
    '^' +
      glob
        .replace(/[.+^${}()|\\/]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.') +
      '$',
  );
}

const LIST_ARGS = ['list-units', '--all', '--full', '--plain', '--no-legend', '--output=json'];

/** The allowlist against list-units' unit names: exact names as given, each glob's matches sorted. */
function allowlisted(unitNames) {
  const names = new Set();
  for (const p of patterns) {
    if (!/[*?[]/.test(p)) names.add(p);
    else {
      const re = globRe(p);
      for (const u of unitNames.filter((u) => re.test(u)).sort()) names.add(u);
    }
  }
  return names;
}

/** journalctl's arguments: PID 1's finished, failed, reload and start entries of `units` from `from` on. */
function journalArgs(from, units) {
  return [
    '--system',
    '--no-pager',
    '-o',
    'json',
    '--output-fields=MESSAGE_ID,UNIT,UNIT_RESULT,JOB_TYPE,JOB_RESULT,MESSAGE',
    '-n',
    '10000',
    from,
    '_PID=1',
    `MESSAGE_ID=${SUCCESS_ID}`,
    `MESSAGE_ID=${FAILURE_ID}`,
    `MESSAGE_ID=${RELOAD_ID}`,
    `MESSAGE_ID=${START_ID}`,
    ...units.map((u) => `UNIT=${u}`),
  ];
}

/** The state directory's O_EXCL lock, removed at exit. */
function takeLock() {
  const lock = `${stateDir}/lock`;
  const fd = fs.openSync(lock, 'wx');
  fs.writeSync(fd, String(process.pid));
  fs.closeSync(fd);
  process.on('exit', () => fs.unlinkSync(lock));
}

/** state.json's text, or undefined when there is none. */
function readState() {
  try {
    return fs.readFileSync(`${stateDir}/state.json`, 'utf8');
  } catch {
    return undefined;
  }
}

/** state.json written as the tick writes it: a temporary name, fsynced, renamed. */
function writeState(text) {
  const tmp = `${stateDir}/state.json.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  fs.writeSync(fd, text);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(tmp, `${stateDir}/state.json`);
}

async function main() {
  // State: the lock, what the last run remembered, the spool's length.
  fs.mkdirSync(`${stateDir}/spool`, { recursive: true });
  if (!print) takeLock();
  let state = { units: {}, spoolDropped: 0, timers: {}, journal: {}, failures: {} };
  const stored = readState();
  if (stored !== undefined) {
    try {
      state = { ...state, ...JSON.parse(stored) };
    } catch {}
  }
  const spooled = fs.readdirSync(`${stateDir}/spool`).length;

  const started = monotonicNow();
  const listed = JSON.parse(await systemctl(LIST_ARGS));
  const names = allowlisted(listed.map((r) => r.unit));
  const failed = listed.filter((r) => r.active === 'failed');
  const elsewhere = failed.map((r) => r.unit).filter((u) => !names.has(u));
  const jobs = [...names].filter((u) => u.endsWith('.timer')).map((u) => u.replace(/\.timer$/, '.service'));
  const show = await systemctl(['show', '--timestamp=unix', '-p', PROPS, '--', ...new Set([...names, ...elsewhere, ...jobs])]);
  const records = new Map();
  for (const block of show.split('\n\n')) {
    const r = {};
    for (const line of block.split('\n')) {
      const eq = line.indexOf('=');
      if (eq <= 0) continue;
      const k = line.slice(0, eq);
      if (k === 'TimersMonotonic' || k === 'TimersCalendar') {
        r[k] ??= [];
        r[k].push(line.slice(eq + 1));
      } else if (!(k in r)) r[k] = line.slice(eq + 1);
    }
    if (r.Id) for (const n of [r.Id, ...(r.Names || '').split(' ')]) if (n && !records.has(n)) records.set(n, r);
  }

  // Timers and their jobs' runs since the saved journal position.
  const timers = [...names]
    .map((n) => records.get(n))
    .filter((r) => r && r.LoadState === 'loaded' && r.Id.endsWith('.timer'))
    .map((r) => ({ name: r.Id, r, service: r.Unit || r.Id.replace(/\.timer$/, '.service') }));
  const runs = [];
  const reloads = [];
  const skipped = [];
  let cursor = state.journal.cursor;
  const journalUnits = [...new Set([...[...names].filter((n) => records.get(n)?.LoadState === 'loaded'), ...timers.map((t) => t.service)])];
  if (journalUnits.length > 0) {
    const from = cursor ? `--after-cursor=${cursor}` : `--since=@${(state.journal.since ?? Date.now() / 1000).toFixed(6)}`;
    const out = await spawn(journalBinary, journalArgs(from, journalUnits));
    for (const line of out.split('\n')) {
      if (line[0] !== '{') continue;
      const e = JSON.parse(line);
      cursor = e.__CURSOR ?? cursor;
      const at = Number(e.__REALTIME_TIMESTAMP) / 1e6;
      if (e.MESSAGE_ID === RELOAD_ID && e.JOB_TYPE === 'reload') reloads.push({ unit: e.UNIT, result: e.JOB_RESULT });
      else if (e.MESSAGE_ID === START_ID && /was skipped because of an unmet condition/.test(e.MESSAGE ?? ''))
        skipped.push({ unit: e.UNIT, at });
      const result = e.MESSAGE_ID === SUCCESS_ID ? 'success' : e.MESSAGE_ID === FAILURE_ID ? e.UNIT_RESULT : undefined;
      if (result) runs.push({ service: e.UNIT, result, at });
    }
  }
  const mono = monotonicNow();
  const real = Date.now() / 1000;

  const obs = [];
  const add = (name, labels, value) => obs.push({ name, labels: { ...labels, host }, value });
  const memory = {};
  const failureMemory = {};
  let read = 0;
  for (const unit of names) {
    const r = records.get(unit);
    if (!r) continue;
    read++;
    add('systemd_unit_loaded', { unit, load_state: r.LoadState }, r.LoadState === 'loaded' ? 1 : 0);
    if (r.LoadState !== 'loaded') continue;
    add('systemd_unit_active', { unit, sub_state: r.SubState }, r.ActiveState === 'active' ? 1 : 0);
    add('systemd_unit_failed', { unit, result: r.Result || '' }, r.ActiveState === 'failed' ? 1 : 0);
    const timer = r.Id.endsWith('.timer');
    let age;
    if (timer) {
      const lastMono = timespan(r.LastTriggerUSecMonotonic);
      const lastReal = realtime(r.LastTriggerUSec);
      age = lastMono !== undefined ? Math.max(0, mono - lastMono) : lastReal !== undefined ? Math.max(0, real - lastReal) : undefined;
    } else if (r.ActiveState === 'active' || r.ActiveState === 'reloading') age = 0;
    else {
      const stamps = [r.ActiveExitTimestampMonotonic, r.ExecMainExitTimestampMonotonic, r.InactiveExitTimestampMonotonic]
        .map(micros)
        .filter((s) => s !== undefined);
      if (stamps.length > 0) age = Math.max(0, mono - Math.max(...stamps));
    }
    if (age !== undefined) add('systemd_unit_seconds_since_active', { unit }, age);
    if (micros(r.ConditionTimestampMonotonic) !== undefined && (r.ConditionResult === 'yes' || r.ConditionResult === 'no')) {
      add('systemd_unit_condition_met', { unit }, r.ConditionResult === 'yes' ? 1 : 0);
    }
    const kept = state.failures[unit];
    const fails = { ...(kept?.failures ?? {}) };
    const reloadCounts = { ...(kept?.reloads ?? {}) };
    let lastFailure = kept?.lastFailure;
    for (const run of runs) {
      if (run.service !== unit || run.result === 'success') continue;
      fails[run.result] = (fails[run.result] ?? 0) + 1;
      lastFailure = Math.max(lastFailure ?? 0, run.at);
    }
    for (const reload of reloads) if (reload.unit === unit) reloadCounts[reload.result] = (reloadCounts[reload.result] ?? 0) + 1;
    failureMemory[unit] = { failures: fails, reloads: reloadCounts, ...(lastFailure !== undefined ? { lastFailure } : {}) };
    for (const [result, n] of Object.entries(fails).sort()) add('systemd_unit_failures_total', { unit, result }, n);
    if (lastFailure !== undefined) add('systemd_unit_last_failure_timestamp_seconds', { unit }, lastFailure);
    for (const [result, n] of Object.entries(reloadCounts).sort()) add('systemd_unit_reloads_total', { unit, result }, n);
    const before = state.units[unit];
    const inactiveExit = micros(r.InactiveExitTimestampMonotonic);
    const now = { invocationId: r.InvocationID || undefined, inactiveExit };
    const startedAgain =
      before !== undefined &&
      (before.invocationId !== undefined && now.invocationId !== undefined
        ? before.invocationId !== now.invocationId
        : before.inactiveExit !== undefined && inactiveExit !== undefined
          ? before.inactiveExit !== inactiveExit
          : before.invocationId === undefined && before.inactiveExit === undefined && (now.invocationId || inactiveExit) !== undefined);
    memory[unit] = { ...now, starts: before ? before.starts + (startedAgain ? 1 : 0) : 0 };
    if (r.Id.endsWith('.service')) {
      const restarts = count(r.NRestarts);
      if (restarts !== undefined) add('systemd_unit_restart_count_total', { unit }, restarts);
      add('systemd_unit_starts_total', { unit }, memory[unit].starts);
      const status = count(r.ExecMainStatus);
      if (status !== undefined) add('systemd_unit_last_exit_status', { unit }, status);
      if (r.ReloadResult) add('systemd_unit_reload_failed', { unit }, r.ReloadResult === 'success' ? 0 : 1);
    }
    if (timer) {
      const lastMono = timespan(r.LastTriggerUSecMonotonic);
      const last = lastMono !== undefined ? real - (mono - lastMono) : realtime(r.LastTriggerUSec);
      if (last !== undefined) add('systemd_timer_last_trigger_timestamp_seconds', { unit }, last);
      const periods = (r.TimersMonotonic || [])
        .map((t) => /^\{ OnUnit(?:In)?ActiveUSec=(.*?) ;/.exec(t))
        .filter(Boolean)
        .map((m) => timespan(m[1]));
      if (periods.length > 0) add('systemd_timer_interval_seconds', { unit }, Math.min(...periods));
      const nextMono = timespan(r.NextElapseUSecMonotonic);
      const next = [realtime(r.NextElapseUSecRealtime), nextMono === undefined ? undefined : real + (nextMono - mono)].filter(
        (t) => t !== undefined,
      );
      if (next.length > 0) add('systemd_timer_next_elapse_timestamp_seconds', { unit }, Math.min(...next));
    }
  }
  const timerMemory = {};
  for (const { name: unit, service } of timers) {
    const before = state.timers[unit]?.service === service ? state.timers[unit] : undefined;
    const counts = { success: 0, ...(before?.runs ?? {}) };
    let lastSuccess = before?.lastSuccess;
    let last = before?.lastResult === undefined ? undefined : { result: before.lastResult, at: before.lastResultAt ?? -Infinity };
    const finished = (result, at) => {
      if (!last || (at ?? real) >= last.at) last = { result, at: at ?? real };
      if (result === 'success' && at !== undefined) lastSuccess = Math.max(lastSuccess ?? 0, at);
    };
    for (const run of runs) {
      if (run.service !== service) continue;
      counts[run.result] = (counts[run.result] ?? 0) + 1;
      finished(run.result, run.at);
    }
    for (const job of skipped) {
      if (job.unit !== service) continue;
      counts.skipped = (counts.skipped ?? 0) + 1;
      finished('skipped', job.at);
    }
    const job = records.get(service);
    const running = ['active', 'activating', 'deactivating', 'reloading'].includes(job?.ActiveState);
    if (
      job &&
      job.LoadState === 'loaded' &&
      ((job.ActiveState === 'active' && job.SubState === 'exited') || (!running && job.InvocationID))
    ) {
      const at = micros(
        job.ActiveState === 'active'
          ? job.ExecMainExitTimestampMonotonic
          : job.InactiveEnterTimestampMonotonic || job.ExecMainExitTimestampMonotonic,
      );
      finished(job.Result || 'success', at === undefined ? undefined : real - (mono - at));
    }
    const lastResult = last?.result;
    const lastResultAt = last && Number.isFinite(last.at) ? last.at : undefined;
    timerMemory[unit] = { service, runs: counts, lastSuccess, lastResult, lastResultAt, countedInvocation: job?.InvocationID || undefined };
    if (lastSuccess !== undefined) add('systemd_timer_last_success_timestamp_seconds', { unit, service }, lastSuccess);
    if (lastResult !== undefined) add('systemd_timer_last_result', { unit, service, result: lastResult }, 1);
    for (const [result, n] of Object.entries(counts).sort()) add('systemd_timer_runs_total', { unit, service, result }, n);
  }
  for (const unit of elsewhere) add('systemd_unit_failed', { unit, result: records.get(unit)?.Result || '' }, 1);
  add('systemd_failed_units', {}, failed.length);
  add('systemd_heartbeat_last_run_timestamp_seconds', {}, real);
  add('systemd_heartbeat_collect_duration_seconds', {}, Math.max(0, mono - started));
  add('systemd_heartbeat_units', {}, read);
  add('systemd_heartbeat_collect_errors', {}, 0);
  add('systemd_heartbeat_spooled_runs', {}, spooled);
  add('systemd_heartbeat_spool_dropped_runs_total', {}, state.spoolDropped);
  if (journalUnits.length > 0) add('systemd_heartbeat_journal_readable', {}, 1);

  if (print) {
    process.stdout.write(`${JSON.stringify({ observations: obs })}\n`);
    return 0;
  }
  try {
    const status = await push(encode(obs, real));
    if (status < 200 || status > 299) throw new Error(`HTTP ${status}`);
  } finally {
    const journal = cursor ? { cursor, readable: true } : { since: state.journal.since ?? real, readable: true };
    writeState(JSON.stringify({ units: memory, spoolDropped: state.spoolDropped, timers: timerMemory, journal, failures: failureMemory }));
  }
  return 0;
}

/** The bare floor: see the head of this file. */
async function bareMain() {
  fs.mkdirSync(`${stateDir}/spool`, { recursive: true });
  takeLock();
  const state = readState() ?? '{}';
  fs.readdirSync(`${stateDir}/spool`);

  const listed = await systemctl(LIST_ARGS);
  const all = [];
  for (const m of listed.matchAll(/"unit":"([^"]+)"/g)) all.push(m[1]);
  const names = allowlisted(all);
  const jobs = [...names].filter((u) => u.endsWith('.timer')).map((u) => u.replace(/\.timer$/, '.service'));
  const units = [...new Set([...names, ...jobs])];
  await systemctl(['show', '--timestamp=unix', '-p', PROPS, '--', ...units]);
  await spawn(journalBinary, journalArgs(`--since=@${(Date.now() / 1000 - 30).toFixed(6)}`, units));

  const real = Date.now() / 1000;
  const metricNames = BARE_METRICS;
  const obs = [];
  const list = [...names];
  if (barePoints > list.length * metricNames.length) throw new Error(`--bare ${barePoints}: more points than units x names`);
  for (let i = 0; i < barePoints; i++) {
    const unit = list[i % list.length];
    obs.push({ name: metricNames[Math.floor(i / list.length) % metricNames.length], labels: { unit, host }, value: 1 });
  }
  try {
    const status = await push(encode(obs, real));
    if (status < 200 || status > 299) throw new Error(`HTTP ${status}`);
  } finally {
    writeState(state);
  }
  return 0;
}
/** The tick's metric names that a unit has, in the order the bare floor spreads its points over them. */
const BARE_METRICS = [
  'systemd_unit_loaded',
  'systemd_unit_active',
  'systemd_unit_failed',
  'systemd_unit_seconds_since_active',
  'systemd_unit_restart_count_total',
  'systemd_unit_starts_total',
  'systemd_unit_last_exit_status',
  'systemd_unit_failures_total',
  'systemd_unit_last_failure_timestamp_seconds',
  'systemd_unit_reloads_total',
  'systemd_unit_reload_failed',
  'systemd_unit_condition_met',
];

// Protobuf, by hand: opentelemetry/proto/collector/metrics/v1 ExportMetricsServiceRequest.
// Two passes: every message's size first, then one buffer written front to back.
const COUNTERS = new Set([
  'systemd_unit_restart_count_total',
  'systemd_unit_starts_total',
  'systemd_timer_runs_total',
  'systemd_heartbeat_spool_dropped_runs_total',
  'systemd_unit_failures_total',
  'systemd_unit_reloads_total',
]);
function varintSize(n) {
  let size = 1;
  while (n > 127) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}
/** Size of a length-delimited field (one-byte tag) holding `n` bytes. */
function fieldSize(n) {
  return 1 + varintSize(n) + n;
}
function encode(observations, seconds) {
  const nanos = BigInt(Math.floor(seconds)) * 1_000_000_000n + BigInt(Math.round((seconds % 1) * 1e9));
  // Per data point: its attributes as [key, keyBytes, value, valueBytes, anyValueSize, kvSize].
  const byName = new Map();
  for (const o of observations) {
    let size = 27; // start_time_unix_nano, time_unix_nano (fixed64) and as_double: 3 x (1 + 8)
    const attrs = [];
    for (const key in o.labels) {
      const value = o.labels[key];
      const kb = Buffer.byteLength(key);
      const vb = Buffer.byteLength(value);
      const any = fieldSize(vb);
      const kv = fieldSize(kb) + fieldSize(any);
      attrs.push(key, kb, value, vb, any, kv);
      size += fieldSize(kv);
    }
    const point = { attrs, size, value: o.value };
    const list = byName.get(o.name);
    if (list) list.points.push(point);
    else byName.set(o.name, { points: [point], counter: COUNTERS.has(o.name) });
  }
  let scopeSize = fieldSize(fieldSize(17)); // scope { name: 'systemd-heartbeat' }
  for (const [name, m] of byName) {
    let data = 0;
    for (const p of m.points) data += fieldSize(p.size);
    m.data = m.counter ? data + 4 : data; // Sum: + aggregation_temporality, is_monotonic
    m.size = fieldSize(Buffer.byteLength(name)) + fieldSize(m.data);
    scopeSize += fieldSize(m.size);
  }
  const resourceMetrics = 2 + fieldSize(scopeSize); // resource {} + scope_metrics
  const buf = Buffer.allocUnsafe(fieldSize(resourceMetrics));
  let pos = 0;
  const varint = (n) => {
    while (n > 127) {
      buf[pos++] = (n & 127) | 128;
      n = Math.floor(n / 128);
    }
    buf[pos++] = n;
  };
  const open = (no, size) => {
    buf[pos++] = (no << 3) | 2;
    varint(size);
  };
  const string = (no, s, bytes) => {
    open(no, bytes);
    pos += buf.write(s, pos);
  };
  open(1, resourceMetrics);
  open(1, 0);
  open(2, scopeSize);
  open(1, fieldSize(17));
  string(1, 'systemd-heartbeat', 17);
  for (const [name, m] of byName) {
    open(2, m.size);
    string(1, name, Buffer.byteLength(name));
    open(m.counter ? 7 : 5, m.data); // Sum (7) or Gauge (5)
    for (const p of m.points) {
      open(1, p.size);
      const a = p.attrs;
      for (let i = 0; i < a.length; i += 6) {
        open(7, a[i + 5]);
        string(1, a[i], a[i + 1]);
        open(2, a[i + 4]);
        string(1, a[i + 2], a[i + 3]);
      }
      buf[pos++] = (2 << 3) | 1;
      pos = buf.writeBigUInt64LE(nanos, pos);
      buf[pos++] = (3 << 3) | 1;
      pos = buf.writeBigUInt64LE(nanos, pos);
      buf[pos++] = (4 << 3) | 1; // as_double
      pos = buf.writeDoubleLE(p.value, pos);
    }
    if (m.counter) {
      buf[pos++] = 2 << 3; // aggregation_temporality: CUMULATIVE
      buf[pos++] = 2;
      buf[pos++] = 3 << 3; // is_monotonic
      buf[pos++] = 1;
    }
  }
  if (pos !== buf.length) throw new Error(`protobuf: wrote ${pos} of ${buf.length} bytes`);
  return buf;
}

function push(body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      endpoint,
      { method: 'POST', agent: false, headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length }, timeout: 5000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

(barePoints === undefined ? main() : bareMain()).then(
  (code) => (process.exitCode = code),
  (error) => {
    process.stderr.write(`floor: ${error.message}\n`);
    process.exitCode = 1;
  },
);
