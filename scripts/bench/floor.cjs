#!/usr/bin/env node
'use strict';
/**
 * The floor of `npm run bench`: the least a tick can do and still push the same payload.
 * Zero dependencies, one CommonJS file (Node's fastest loader path), nothing imported that the
 * push does not use. It does the same physical work as the shipped tick:
 *   - the same two systemctl calls (list-units --output=json, one show for every unit),
 *   - a glob match of the allowlist and a parse of both outputs,
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
 * SYSTEMD_HEARTBEAT_STATE_DIR, OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, SYSTEMD_HEARTBEAT_SYSTEMCTL.
 * `--print` prints the observations as JSON (like `--dry-run --format json`) and pushes nothing.
 */
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');

const env = process.env;
const print = process.argv.includes('--print');
const patterns = (env.SYSTEMD_HEARTBEAT_UNITS || '').split(',').filter((p) => p !== '');
const host = env.SYSTEMD_HEARTBEAT_HOST || require('node:os').hostname();
const stateDir = env.SYSTEMD_HEARTBEAT_STATE_DIR || '/var/lib/systemd-heartbeat';
const endpoint = new URL(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT || 'http://127.0.0.1:8428/opentelemetry/v1/metrics');
const binary = env.SYSTEMD_HEARTBEAT_SYSTEMCTL || 'systemctl';
const PROPS =
  'Id,Names,LoadState,ActiveState,SubState,Result,NRestarts,ExecMainStatus,ExecMainExitTimestampMonotonic,' +
  'InactiveExitTimestampMonotonic,ActiveExitTimestampMonotonic,InvocationID,Unit,TimersMonotonic,TimersCalendar,' +
  'LastTriggerUSec,LastTriggerUSecMonotonic,NextElapseUSecRealtime,NextElapseUSecMonotonic';
const childEnv = { LC_ALL: 'C', TZ: 'UTC', SYSTEMD_PAGER: '', SYSTEMD_COLORS: '0', PATH: env.PATH || '/usr/bin:/bin' };

function systemctl(args) {
  return new Promise((resolve, reject) => {
    execFile(binary, ['--system', '--no-pager', ...args], { env: childEnv, maxBuffer: 1 << 28, encoding: 'utf8' }, (e, out) =>
      e ? reject(e) : resolve(out),
    );
  });
}

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
  return new RegExp('^' + glob.replace(/[.+^${}()|\\/]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
}

async function main() {
  const started = monotonicNow();
  const listed = JSON.parse(await systemctl(['list-units', '--all', '--full', '--plain', '--no-legend', '--output=json']));
  const names = new Set();
  for (const p of patterns) {
    if (!/[*?[]/.test(p)) names.add(p);
    else {
      const re = globRe(p);
      for (const u of listed.map((r) => r.unit).filter((u) => re.test(u)).sort()) names.add(u);
    }
  }
  const failed = listed.filter((r) => r.active === 'failed');
  const elsewhere = failed.map((r) => r.unit).filter((u) => !names.has(u));
  const show = await systemctl(['show', '--timestamp=unix', '-p', PROPS, '--', ...names, ...elsewhere]);
  const records = new Map();
  for (const block of show.split('\n\n')) {
    const r = {};
    for (const line of block.split('\n')) {
      const eq = line.indexOf('=');
      if (eq <= 0) continue;
      const k = line.slice(0, eq);
      if (k === 'TimersMonotonic' || k === 'TimersCalendar') (r[k] ||= []).push(line.slice(eq + 1));
      else if (!(k in r)) r[k] = line.slice(eq + 1);
    }
    if (r.Id) for (const n of [r.Id, ...(r.Names || '').split(' ')]) if (n && !records.has(n)) records.set(n, r);
  }
  const mono = monotonicNow();
  const real = Date.now() / 1000;

  // State: the lock, what the last run remembered, the spool's length.
  fs.mkdirSync(`${stateDir}/spool`, { recursive: true });
  const lock = `${stateDir}/lock`;
  let locked = false;
  if (!print) {
    const fd = fs.openSync(lock, 'wx');
    fs.writeSync(fd, String(process.pid));
    fs.closeSync(fd);
    locked = true;
  }
  let state = { units: {}, spoolDropped: 0 };
  try {
    state = JSON.parse(fs.readFileSync(`${stateDir}/state.json`, 'utf8'));
  } catch {}
  const spooled = fs.readdirSync(`${stateDir}/spool`).length;

  const obs = [];
  const add = (name, labels, value) => obs.push({ name, labels: { ...labels, host }, value });
  const memory = {};
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
    }
  }
  for (const unit of elsewhere) add('systemd_unit_failed', { unit, result: records.get(unit)?.Result || '' }, 1);
  add('systemd_failed_units', {}, failed.length);
  add('systemd_heartbeat_last_run_timestamp_seconds', {}, real);
  add('systemd_heartbeat_collect_duration_seconds', {}, Math.max(0, mono - started));
  add('systemd_heartbeat_units', {}, read);
  add('systemd_heartbeat_collect_errors', {}, 0);
  add('systemd_heartbeat_spooled_runs', {}, spooled);
  add('systemd_heartbeat_spool_dropped_runs_total', {}, state.spoolDropped);

  if (print) {
    process.stdout.write(JSON.stringify({ observations: obs }) + '\n');
    return 0;
  }
  try {
    const status = await push(encode(obs, real));
    if (status < 200 || status > 299) throw new Error(`HTTP ${status}`);
  } finally {
    const tmp = `${stateDir}/state.json.tmp-${process.pid}`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    fs.writeSync(fd, JSON.stringify({ units: memory, spoolDropped: state.spoolDropped }));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, `${stateDir}/state.json`);
    if (locked) fs.unlinkSync(lock);
  }
  return 0;
}

// Protobuf, by hand: opentelemetry/proto/collector/metrics/v1 ExportMetricsServiceRequest.
function varint(n) {
  const out = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}
function field(no, payload) {
  return Buffer.concat([varint((no << 3) | 2), varint(payload.length), payload]);
}
function str(no, s) {
  return field(no, Buffer.from(s, 'utf8'));
}
const COUNTERS = new Set(['systemd_unit_restart_count_total', 'systemd_unit_starts_total', 'systemd_heartbeat_spool_dropped_runs_total']);
function encode(observations, seconds) {
  const time = Buffer.alloc(8);
  time.writeBigUInt64LE(BigInt(Math.floor(seconds)) * 1_000_000_000n + BigInt(Math.round((seconds % 1) * 1e9)));
  const byName = new Map();
  for (const o of observations) {
    const attrs = Object.entries(o.labels).map(([k, v]) => field(7, Buffer.concat([str(1, k), field(2, str(1, v))])));
    const value = Buffer.alloc(9);
    value[0] = (4 << 3) | 1; // as_double
    value.writeDoubleLE(o.value, 1);
    // start_time_unix_nano (2) and time_unix_nano (3), fixed64: both the collection time.
    const point = Buffer.concat([...attrs, Buffer.from([(2 << 3) | 1]), time, Buffer.from([(3 << 3) | 1]), time, value]);
    const list = byName.get(o.name);
    if (list) list.push(point);
    else byName.set(o.name, [point]);
  }
  const metrics = [];
  for (const [name, points] of byName) {
    const data = Buffer.concat(points.map((p) => field(1, p)));
    // Sum (7): CUMULATIVE (2), monotonic; Gauge (5).
    const body = COUNTERS.has(name) ? field(7, Buffer.concat([data, Buffer.from([2 << 3, 2, 3 << 3, 1])])) : field(5, data);
    metrics.push(field(2, Buffer.concat([str(1, name), body])));
  }
  const scope = field(2, Buffer.concat([field(1, str(1, 'systemd-heartbeat')), ...metrics]));
  return field(1, Buffer.concat([field(1, Buffer.alloc(0)), scope]));
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

main().then(
  (code) => (process.exitCode = code),
  (error) => {
    process.stderr.write(`floor: ${error.message}\n`);
    process.exitCode = 1;
  },
);
