/**
 * A tick's whole cost to the host: the CPU systemd (PID 1) spends answering the tick's
 * `list-units` and `show`, which is in no rusage of ours, beside the same for the peer a user
 * would otherwise run, node_exporter 1.5.0 with its systemd collector (issue 23).
 *
 *   node scripts/build.mjs && scripts/fetch-bookworm.sh node-exporter
 *   node --import tsx scripts/bench/pid1.ts [--reps 20] [--sizes 10,1000] [--no-calls]
 *
 * Everything runs inside the isolated systemd 252 of test/harness/sandbox.ts (hostNetwork, no
 * fixtures), with N running `hb-load-NNNN.service` units (`sleep infinity`), and pushes to a
 * real VictoriaMetrics on 127.0.0.1. PID 1's CPU is read from the host's /proc of the
 * sandbox's systemd before and after each operation: the sum of its threads' schedstat run
 * time (ns), and utime+stime (clock ticks, 10 ms each here) summed over all reps and divided,
 * as a cross-check. dbus-daemon's CPU is read the same way: an unprivileged client (the
 * shipped unit's DynamicUser, node_exporter by default) reaches PID 1 through it, root's
 * systemctl through /run/systemd/private.
 *
 * The tick's own CPU (user+sys of node and the systemctl/journalctl it waits for) comes from
 * wait4(2) through scripts/bench/rusage.py run inside the sandbox; node_exporter's from its
 * /proc stat around each scrape, and its RSS between scrapes.
 *
 * Afterwards, at the largest N, each systemctl call a tick makes (src/systemd/collect.ts, the
 * exact arguments) and variants of it are timed the same way: what PID 1 spends per call.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_FULL_SHOW_SECONDS, DEFAULT_PERIOD_SECONDS } from '../../src/defaults.ts';
import { LIST_UNITS_ARGS, showArgs } from '../../src/systemd/collect.ts';
import { bootSandbox, startTime, type Sandbox } from '../../test/harness/sandbox.ts';
import { startVictoria, type Victoria } from '../../test/support/victoria.ts';
import { median } from './runner.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const RUSAGE = join(REPO, 'scripts/bench/rusage.py');
const FLOOR = join(REPO, 'scripts/bench/floor.cjs');
const NODE_EXPORTER = join(REPO, '.cache/node-exporter/root/usr/bin/prometheus-node-exporter');
const DEFAULT_BUNDLE = join(REPO, 'dist/systemd-heartbeat.cjs');
const WARMUP = 3;
const PEER_UNIT = 'hb-peer-node-exporter.service';
const LOAD_PATTERN = 'hb-load-*';
/** An unprivileged uid/gid inside (nobody), for a tick that reaches PID 1 as the shipped unit does. */
const NOBODY = 65534;
const START_BATCH = 250;
const SCRAPE_TIMEOUT_MS = 30_000;
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
const SYSTEMCTL_ENV = { LC_ALL: 'C', TZ: 'UTC', SYSTEMD_PAGER: '', SYSTEMD_COLORS: '0' };

export interface Cost {
  /** PID 1's CPU per operation, from schedstat (ns resolution). */
  readonly pid1Ms: number;
  /** The same from utime+stime: ticks summed over all reps, divided by reps. */
  readonly pid1TickMs: number;
  /** dbus-daemon's CPU per operation (schedstat); 0 when it did not run. */
  readonly dbusMs: number;
  /** The measured process's own user+sys per operation (median). */
  readonly ownCpuMs: number;
  /** Wall time per operation (median). */
  readonly wallMs: number;
}

export interface Row {
  readonly n: number;
  readonly reps: number;
  /** PID 1's CPU per second while idle (schedstat), the noise under every figure. */
  readonly idlePid1MsPerS: number;
  /** The tick as root (systemctl talks to /run/systemd/private), as shipped: quiet ticks show only what changed. */
  readonly tick: Cost;
  /** The same with SYSTEMD_HEARTBEAT_FULL_SHOW_SECONDS=0: every tick shows every unit (the periodic full show). */
  readonly tickFull: Cost;
  /** The tick as an unprivileged user with the systemd-journal group, like the shipped unit: through dbus-daemon. */
  readonly tickUser: Cost;
  readonly tickUserFull: Cost;
  /** node_exporter over the system bus (its default). */
  readonly peer: Cost & { readonly rssMb: number };
  /** node_exporter with --collector.systemd.private (/run/systemd/private, no dbus-daemon). */
  readonly peerPrivate: Cost & { readonly rssMb: number };
  /** The tick against the bare floor, both as root with real systemctl and journalctl. */
  readonly bare: BareComparison;
}

/** The tick against the bare floor in the real systemd: medians, and medians of per-round ratios. */
export interface BareComparison {
  readonly points: number;
  readonly bareCpuMs: number;
  readonly bareRssMb: number;
  /** The shipped tick, quiet (shows only what changed), against the bare floor (shows every unit). */
  readonly quiet: TickAgainstBare;
  /** Every tick showing every unit, as the bare floor does: the like-for-like comparison. */
  readonly full: TickAgainstBare;
}

export interface TickAgainstBare {
  readonly cpuMs: number;
  readonly rssMb: number;
  readonly wallX: number;
  readonly cpuX: number;
  readonly rssX: number;
}

/** How many ticks share one full show at the defaults: fullShowSeconds / the timer's period. */
export const TICKS_PER_FULL_SHOW = DEFAULT_FULL_SHOW_SECONDS / DEFAULT_PERIOD_SECONDS;

/** Per tick at the defaults: one full tick in TICKS_PER_FULL_SHOW, quiet ones between. */
export function amortised(quiet: number, full: number): number {
  return (full + (TICKS_PER_FULL_SHOW - 1) * quiet) / TICKS_PER_FULL_SHOW;
}

export interface CallRow {
  readonly n: number;
  readonly reps: number;
  readonly call: string;
  readonly cost: Cost;
}

// ---------------------------------------------------------------------------------------------
// CPU of a host pid

interface CpuReading {
  /** Sum of the threads' schedstat run time, ns. */
  readonly ns: number;
  /** utime+stime, clock ticks. */
  readonly ticks: number;
}

function readCpu(pid: number): CpuReading {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime 15
  const ticks = Number(fields[11]) + Number(fields[12]);
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // a thread that exited in between
    }
  }
  return { ns, ticks };
}

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** Host pids of a unit's processes inside the sandbox, from its cgroup (the sandbox's cgroup namespace root is sb.cgroupPath). */
function unitPids(sb: Sandbox, unit: string): number[] {
  try {
    return readFileSync(join(sb.cgroupPath, 'system.slice', unit, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map(Number);
  } catch {
    return [];
  }
}

interface Sample {
  readonly pid1: CpuReading;
  readonly dbus: CpuReading;
  readonly ownMs: number;
  readonly wallMs: number;
}

const ZERO: CpuReading = { ns: 0, ticks: 0 };

function delta(a: CpuReading, b: CpuReading): CpuReading {
  return { ns: b.ns - a.ns, ticks: b.ticks - a.ticks };
}

/** dbus-daemon, once it was socket-activated; ZERO readings when it is not running. */
function dbusCpu(sb: Sandbox): CpuReading {
  const pid = unitPids(sb, 'dbus.service')[0];
  if (pid === undefined) return ZERO;
  try {
    return readCpu(pid);
  } catch {
    return ZERO;
  }
}

/** PID 1's and dbus-daemon's CPU over op(), which returns its own CPU in ms. */
async function sample(sb: Sandbox, op: () => Promise<number>): Promise<Sample> {
  const d0 = dbusCpu(sb);
  const p0 = readCpu(sb.pid);
  const t0 = performance.now();
  const ownMs = await op();
  const wallMs = performance.now() - t0;
  const p1 = readCpu(sb.pid);
  const d1 = dbusCpu(sb);
  return { pid1: delta(p0, p1), dbus: delta(d0, d1), ownMs, wallMs };
}

function summarise(samples: readonly Sample[]): Cost {
  const n = samples.length;
  const sum = (f: (s: Sample) => number): number => samples.reduce((acc, s) => acc + f(s), 0);
  return {
    pid1Ms: sum((s) => s.pid1.ns) / 1e6 / n,
    pid1TickMs: (sum((s) => s.pid1.ticks) * 1000) / CLK_TCK / n,
    dbusMs: sum((s) => s.dbus.ns) / 1e6 / n,
    ownCpuMs: median(samples.map((s) => s.ownMs)),
    wallMs: median(samples.map((s) => s.wallMs)),
  };
}

async function repeat(reps: number, sb: Sandbox, op: () => Promise<number>): Promise<Sample[]> {
  for (let i = 0; i < WARMUP; i++) await op();
  const out: Sample[] = [];
  for (let i = 0; i < reps; i++) out.push(await sample(sb, op));
  return out;
}

// ---------------------------------------------------------------------------------------------
// The sandbox with N units

function loadName(i: number): string {
  return `hb-load-${String(i).padStart(4, '0')}.service`;
}

async function must(sb: Sandbox, argv: string[], what: string): Promise<string> {
  const r = await sb.exec(argv, { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

async function createUnits(sb: Sandbox, n: number): Promise<string[]> {
  const names = Array.from({ length: n }, (_, i) => loadName(i + 1));
  const unit = '[Unit]\nDescription=pid1 bench load\n\n[Service]\nExecStart=/bin/sleep infinity\n';
  // One writeFile per unit would be N nsenter spawns: write one, copy it N-1 times in one shell.
  await sb.writeFile(`/etc/systemd/system/${names[0]}`, unit);
  await must(
    sb,
    ['sh', '-c', 'cd /etc/systemd/system && for u in "$@"; do cp "$0" "$u"; done', ...names.slice(0, 1), ...names.slice(1)],
    'copying the load units',
  );
  await must(sb, ['systemctl', 'daemon-reload'], 'daemon-reload');
  for (let i = 0; i < names.length; i += START_BATCH) {
    await must(sb, ['systemctl', 'start', '--', ...names.slice(i, i + START_BATCH)], 'starting the load units');
  }
  const running = await must(
    sb,
    ['systemctl', 'list-units', '--state=running', '--plain', '--no-legend', '--', LOAD_PATTERN],
    'list-units of the load units',
  );
  const count = running.split('\n').filter((l) => l.startsWith('hb-load-')).length;
  if (count !== n) throw new Error(`${count} of the ${n} load units are running`);
  return names;
}

async function idleRate(sb: Sandbox): Promise<number> {
  const s = await sample(sb, async () => {
    await new Promise((r) => setTimeout(r, 2_000));
    return 0;
  });
  return s.pid1.ns / 1e6 / (s.wallMs / 1000);
}

// ---------------------------------------------------------------------------------------------
// Processes inside, with their rusage (scripts/bench/rusage.py run inside the sandbox)

interface Rusage {
  readonly status: number;
  readonly wall_ms: number;
  readonly user_ms: number;
  readonly sys_ms: number;
  readonly maxrss_kb: number;
}

async function runMeasured(sb: Sandbox, argv: string[], env: Record<string, string>, what: string): Promise<number> {
  const usage = await runUsage(sb, argv, env, what);
  return usage.user_ms + usage.sys_ms;
}

/** One run of argv inside the sandbox under rusage.py; throws unless it exited 0. */
async function runUsage(sb: Sandbox, argv: string[], env: Record<string, string>, what: string): Promise<Rusage> {
  const job = { argv, env, stdout: '/run/hb-pid1/stdout', stderr: '/run/hb-pid1/stderr' };
  const r = await sb.exec(['python3', RUSAGE], { input: `${JSON.stringify(job)}\n`, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`rusage.py inside the sandbox failed (${r.code}): ${r.stderr.trim()}`);
  const usage = JSON.parse(r.stdout) as Rusage;
  if (usage.status !== 0) {
    const stderr = await sb.readFile('/run/hb-pid1/stderr').catch(() => '');
    throw new Error(`${what} exited ${usage.status}: ${stderr.trim().split('\n').slice(0, 5).join(' | ')}`);
  }
  return usage;
}

/**
 * The tick against the bare floor (scripts/bench/floor.cjs --bare: the same spawns and state
 * files and as many points, nothing parsed beyond unit names), as root, alternating, in this
 * real systemd: here both pay for real systemctl and journalctl, as on a host.
 */
async function measureAgainstBare(sb: Sandbox, vm: Victoria, bundle: string, reps: number): Promise<BareComparison> {
  await prepareRun(sb, 0, ['/var/lib/hb-bare-tick', '/var/lib/hb-bare-full', '/var/lib/hb-bare-floor']);
  const tickEnv = { ...runEnv(vm, '/var/lib/hb-bare-tick'), SYSTEMD_HEARTBEAT_HOST: 'pid1-tick' };
  const fullEnv = { ...runEnv(vm, '/var/lib/hb-bare-full', true), SYSTEMD_HEARTBEAT_HOST: 'pid1-full' };
  await runUsage(sb, ['/usr/bin/node', bundle, '--dry-run', '--format', 'json'], tickEnv, 'the dry run');
  const points = (JSON.parse(await sb.readFile('/run/hb-pid1/stdout')) as { observations: unknown[] }).observations.length;
  const runs = {
    quiet: () => runUsage(sb, ['/usr/bin/node', bundle], tickEnv, 'the tick'),
    full: () => runUsage(sb, ['/usr/bin/node', bundle], fullEnv, 'the tick showing every unit'),
    bare: () =>
      runUsage(
        sb,
        ['/usr/bin/node', FLOOR, '--bare', String(points)],
        { ...runEnv(vm, '/var/lib/hb-bare-floor'), SYSTEMD_HEARTBEAT_HOST: 'pid1-bare' },
        'the bare floor',
      ),
  };
  const order = ['quiet', 'full', 'bare'] as const;
  const got: Record<(typeof order)[number], Rusage[]> = { quiet: [], full: [], bare: [] };
  for (let round = 0; round < WARMUP + reps; round++) {
    // Rotating, so that no variant always runs first or after the same one.
    for (let i = 0; i < order.length; i++) {
      const which = order[(round + i) % order.length] as (typeof order)[number];
      const usage = await runs[which]();
      if (round >= WARMUP) got[which].push(usage);
    }
  }
  const cpu = (u: Rusage): number => u.user_ms + u.sys_ms;
  const against = (tick: readonly Rusage[]): TickAgainstBare => {
    const ratio = (f: (u: Rusage) => number): number => median(tick.map((t, i) => f(t) / f(got.bare[i] as Rusage)));
    return {
      cpuMs: median(tick.map(cpu)),
      rssMb: median(tick.map((u) => u.maxrss_kb)) / 1024,
      wallX: ratio((u) => u.wall_ms),
      cpuX: ratio(cpu),
      rssX: ratio((u) => u.maxrss_kb),
    };
  };
  return {
    points,
    bareCpuMs: median(got.bare.map(cpu)),
    bareRssMb: median(got.bare.map((u) => u.maxrss_kb)) / 1024,
    quiet: against(got.quiet),
    full: against(got.full),
  };
}

async function journalGid(sb: Sandbox): Promise<string> {
  const line = (await must(sb, ['getent', 'group', 'systemd-journal'], 'getent group systemd-journal')).trim();
  const gid = line.split(':')[2];
  if (!gid) throw new Error(`no systemd-journal group: ${line}`);
  return gid;
}

/** /run/hb-pid1 (rusage.py's stdout and stderr, anyone may write) and state directories owned by `owner`. */
async function prepareRun(sb: Sandbox, owner: number, stateDirs: readonly string[]): Promise<void> {
  await must(sb, ['install', '-d', '-o', String(owner), '-g', String(owner), '/run/hb-pid1', ...stateDirs], 'mkdir');
  await must(sb, ['chmod', '1777', '/run/hb-pid1'], 'chmod');
}

/** The environment a tick (or the bare floor) runs with inside: the load units, a state directory, the VictoriaMetrics. */
function runEnv(vm: Victoria, stateDir: string, full = false): Record<string, string> {
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    SYSTEMD_HEARTBEAT_UNITS: LOAD_PATTERN,
    SYSTEMD_HEARTBEAT_STATE_DIR: stateDir,
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: vm.otlpUrl,
    // The longest bound a run takes (14 s, not 5 s): a slow moment of the sandbox (1000 units
    // just started) must not fail the bench; what a tick costs does not depend on it.
    OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: '14000',
    ...(full ? { SYSTEMD_HEARTBEAT_FULL_SHOW_SECONDS: '0' } : {}),
  };
}

async function measureTick(sb: Sandbox, vm: Victoria, bundle: string, reps: number, user: boolean, full: boolean): Promise<Cost> {
  const stateDir = `/var/lib/hb-pid1-${user ? 'user' : 'root'}${full ? '-full' : ''}`;
  await prepareRun(sb, user ? NOBODY : 0, [stateDir]);
  const env = runEnv(vm, stateDir, full);
  const argv = user
    ? ['/usr/bin/setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, `--groups=${await journalGid(sb)}`, '/usr/bin/node', bundle]
    : ['/usr/bin/node', bundle];
  const what = `the tick${user ? ' (as nobody)' : ''}${full ? ' showing every unit' : ''}`;
  const samples = await repeat(reps, sb, () => runMeasured(sb, argv, env, what));
  // What was measured is what it says: one more tick through a systemctl that logs its calls.
  const shows = await showCalls(sb, argv, env, what);
  if (full ? shows !== 1 : shows !== 0)
    throw new Error(`${what} called systemctl show ${shows} time(s) in a steady tick, not ${full ? 1 : 0}`);
  return summarise(samples);
}

/** How many times one tick calls `systemctl show`, through a wrapper that logs each call. */
async function showCalls(sb: Sandbox, argv: string[], env: Record<string, string>, what: string): Promise<number> {
  const log = '/run/hb-pid1/systemctl.log';
  const wrapper = '/run/hb-pid1/systemctl';
  await sb.writeFile(wrapper, `#!/bin/sh\necho "$*" >> ${log}\nexec /usr/bin/systemctl "$@"\n`, 0o755);
  await must(sb, ['sh', '-c', `: > ${log} && chmod 666 ${log}`], 'the call log');
  await runUsage(sb, argv, { ...env, SYSTEMD_HEARTBEAT_SYSTEMCTL: wrapper }, what);
  const calls = (await sb.readFile(log)).split('\n').filter((l) => l !== '');
  if (!calls.some((c) => c.includes(' list-units '))) throw new Error(`${what}: the logging systemctl saw no list-units call`);
  return calls.filter((c) => c.includes(' show ')).length;
}

/** The ticks' pushes arrived: every load unit's series, searched for up to ~10 s (new series take a moment). */
async function checkPushed(vm: Victoria, n: number): Promise<void> {
  let count = 0;
  for (let i = 0; i < 40 && count < n; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 250));
    await vm.flush();
    const got = await vm.query(`count(last_over_time(systemd_unit_active{unit=~"hb-load-.*"}[5m]))`);
    count = got[0]?.value ?? 0;
  }
  if (count < n) throw new Error(`VictoriaMetrics holds systemd_unit_active for ${count} load units, not ${n}`);
}

// ---------------------------------------------------------------------------------------------
// The peer: node_exporter 1.5.0's systemd collector, scraped

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function scrape(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
        if (body.length > 64 * 1024 * 1024) req.destroy(new Error(`${url}: more than 64 MB`));
      });
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: HTTP ${res.statusCode}`))));
    });
    req.setTimeout(SCRAPE_TIMEOUT_MS, () => req.destroy(new Error(`${url}: no answer within ${SCRAPE_TIMEOUT_MS} ms`)));
    req.on('error', reject);
  });
}

function activeUnits(body: string): number {
  const re = /^node_systemd_unit_state\{name="hb-load-\d+\.service",state="active"[^}]*\} 1$/gm;
  return body.match(re)?.length ?? 0;
}

async function stopPid(pid: number, start: string | undefined): Promise<void> {
  const alive = (): boolean => startTime(pid) !== undefined && startTime(pid) === start;
  if (!alive()) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
  if (alive()) process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
}

async function measurePeer(sb: Sandbox, n: number, reps: number, privateBus: boolean): Promise<Cost & { rssMb: number }> {
  const port = await freePort();
  await must(
    sb,
    [
      'systemd-run',
      `--unit=${PEER_UNIT}`,
      '--',
      NODE_EXPORTER,
      '--collector.disable-defaults',
      '--collector.systemd',
      // 1.5.0's name for it (later releases: --collector.systemd.enable-restarts-stats is not a flag here)
      '--collector.systemd.enable-restarts-metrics',
      '--collector.systemd.unit-include=hb-load-.*',
      // hidden in 1.5.0: a direct connection to /run/systemd/private instead of the system bus
      ...(privateBus ? ['--collector.systemd.private'] : []),
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    'starting node_exporter',
  );
  let pid: number | undefined;
  let start: string | undefined;
  try {
    for (let i = 0; i < 100 && pid === undefined; i++) {
      pid = unitPids(sb, PEER_UNIT)[0];
      if (pid === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    if (pid === undefined) throw new Error(`${PEER_UNIT} has no process`);
    const peerPid = pid;
    start = startTime(peerPid);
    const url = `http://127.0.0.1:${port}/metrics`;
    let ready = false;
    for (let i = 0; i < 100 && !ready; i++) {
      ready = await scrape(url).then(
        () => true,
        () => false,
      );
      if (!ready) await new Promise((r) => setTimeout(r, 100));
    }
    if (!ready) throw new Error(`node_exporter does not answer on ${url}`);
    const rss: number[] = [];
    const samples = await repeat(reps, sb, async () => {
      rss.push(rssMb(peerPid));
      const before = readCpu(peerPid);
      const body = await scrape(url);
      const after = readCpu(peerPid);
      const active = activeUnits(body);
      if (active !== n) throw new Error(`a scrape holds node_systemd_unit_state active for ${active} load units, not ${n}`);
      return (after.ns - before.ns) / 1e6;
    });
    return { ...summarise(samples), rssMb: median(rss.slice(WARMUP)) };
  } finally {
    if (pid !== undefined) await stopPid(pid, start);
    await sb.exec(['systemctl', 'reset-failed', PEER_UNIT]);
  }
}

// ---------------------------------------------------------------------------------------------

async function withSandbox<T>(n: number, body: (sb: Sandbox, names: string[]) => Promise<T>): Promise<T> {
  const sb = await bootSandbox({ hostNetwork: true, withFixtures: false });
  try {
    // What systemd-tmpfiles does on a host (Debian's tmpfiles.d/systemd.conf: /run/log/journal
    // 2755 root:systemd-journal) and the sandbox does not run: the journal group may read the
    // journal, as the shipped unit's SupplementaryGroups=systemd-journal does on a host.
    await must(
      sb,
      [
        'sh',
        '-c',
        'chgrp -R systemd-journal /run/log/journal && find /run/log/journal -type d -exec chmod 2750 {} + && chmod 2755 /run/log/journal && find /run/log/journal -type f -exec chmod g+r {} +',
      ],
      'the journal readable by its group',
    );
    const names = await createUnits(sb, n);
    return await body(sb, names);
  } finally {
    await sb.stop();
  }
}

export async function measurePid1(opts: { sizes: number[]; reps: number; bundle: string }): Promise<Row[]> {
  const vm = await startVictoria();
  const rows: Row[] = [];
  try {
    for (const n of opts.sizes) {
      rows.push(
        await withSandbox(n, async (sb) => {
          const idlePid1MsPerS = await idleRate(sb);
          const tick = await measureTick(sb, vm, opts.bundle, opts.reps, false, false);
          await checkPushed(vm, n);
          const tickFull = await measureTick(sb, vm, opts.bundle, opts.reps, false, true);
          const tickUser = await measureTick(sb, vm, opts.bundle, opts.reps, true, false);
          const tickUserFull = await measureTick(sb, vm, opts.bundle, opts.reps, true, true);
          const peer = await measurePeer(sb, n, opts.reps, false);
          const peerPrivate = await measurePeer(sb, n, opts.reps, true);
          const bare = await measureAgainstBare(sb, vm, opts.bundle, opts.reps);
          return { n, reps: opts.reps, idlePid1MsPerS, tick, tickFull, tickUser, tickUserFull, peer, peerPrivate, bare };
        }),
      );
    }
  } finally {
    await vm.stop();
  }
  return rows;
}

/** Each systemctl call the tick makes at N units, with its exact arguments, and variants of it. */
export async function measureCalls(opts: { n: number; reps: number }): Promise<CallRow[]> {
  return withSandbox(opts.n, async (sb, names) => {
    const missing = names.map((u) => u.replace('hb-load-', 'hb-nope-'));
    const root = (args: readonly string[]): string[] => ['/usr/bin/systemctl', '--system', '--no-pager', ...args];
    const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...SYSTEMCTL_ENV };
    const gid = await journalGid(sb);
    const asNobody = (argv: string[]): string[] => [
      '/usr/bin/setpriv',
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      `--groups=${gid}`,
      ...argv,
    ];
    await prepareRun(sb, 0, []);
    const showProps = showArgs(names);
    const unitPath = `/org/freedesktop/systemd1/unit/${(names[0] ?? '').replace(/[^A-Za-z0-9]/g, (c) => `_${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}`;
    const busctl = (call: string[], path = unitPath): string[] => [
      '/usr/bin/busctl',
      // 252's busctl sends Hello() even on a direct --address, which /run/systemd/private refuses:
      // the system bus, and a Ping beside each call to take connecting out.
      '--system',
      'call',
      'org.freedesktop.systemd1',
      path,
      ...call,
    ];
    const variants: Array<[string, string[]]> = [
      ['list-units (tick: --all --full --plain --no-legend --output=json)', root(LIST_UNITS_ARGS)],
      ['list-units --all --plain --no-legend', root(['list-units', '--all', '--plain', '--no-legend'])],
      [`list-units (tick's args) -- '${LOAD_PATTERN}'`, root([...LIST_UNITS_ARGS, '--', LOAD_PATTERN])],
      ['list-units --all --state=failed', root(['list-units', '--all', '--plain', '--no-legend', '--state=failed'])],
      [`show (tick: -p ${showProps[3]?.split(',').length} props) ${names.length} loaded`, root(showProps)],
      [`show (no -p) ${names.length} loaded`, root(['show', '--timestamp=unix', '--', ...names])],
      [`show -p Id,ActiveState ${names.length} loaded`, root(['show', '--timestamp=unix', '-p', 'Id,ActiveState', '--', ...names])],
      [`show (tick's -p) ${Math.min(10, names.length)} loaded`, root(showArgs(names.slice(0, 10)))],
      [`show (tick's -p) ${missing.length} not loaded (not-found)`, root(showArgs(missing))],
      // What a call costs PID 1 beyond connecting, and what one unit's GetAll costs by interface:
      // systemctl show asks GetAll("") (every interface) of each unit whatever -p says.
      ['busctl (system bus): Peer.Ping (a connection alone)', busctl(['org.freedesktop.DBus.Peer', 'Ping'], '/org/freedesktop/systemd1')],
      ['busctl (system bus): GetAll "" of 1 unit', busctl(['org.freedesktop.DBus.Properties', 'GetAll', 's', ''])],
      [
        'busctl (system bus): GetAll Unit iface of 1 unit',
        busctl(['org.freedesktop.DBus.Properties', 'GetAll', 's', 'org.freedesktop.systemd1.Unit']),
      ],
      [
        'busctl (system bus): GetAll Service iface of 1 unit',
        busctl(['org.freedesktop.DBus.Properties', 'GetAll', 's', 'org.freedesktop.systemd1.Service']),
      ],
      [
        'busctl (system bus): get-property of the 5 Service props a tick reads, 1 unit',
        [
          '/usr/bin/busctl',
          '--system',
          'get-property',
          'org.freedesktop.systemd1',
          unitPath,
          'org.freedesktop.systemd1.Service',
          'Result',
          'NRestarts',
          'ExecMainStatus',
          'ExecMainExitTimestampMonotonic',
          'ReloadResult',
        ],
      ],
      ['as nobody, via dbus-daemon: list-units (tick)', asNobody(root(LIST_UNITS_ARGS))],
      [`as nobody, via dbus-daemon: show (tick) ${names.length} loaded`, asNobody(root(showProps))],
    ];
    const rows: CallRow[] = [];
    for (const [call, argv] of variants) {
      const samples = await repeat(opts.reps, sb, () => runMeasured(sb, argv, env, call));
      rows.push({ n: opts.n, reps: opts.reps, call, cost: summarise(samples) });
    }
    return rows;
  });
}

// ---------------------------------------------------------------------------------------------

const f1 = (x: number): string => x.toFixed(1);
const f2 = (x: number): string => x.toFixed(2);

export function renderRows(rows: readonly Row[]): string {
  const out = [
    `| N | reps | PID 1 idle ms/s | tick as root, PID 1 ms (ticks): quiet / every unit shown | tick own CPU ms: quiet / every unit | tick as nobody, PID 1 + dbus-daemon ms: quiet / every unit / per tick at the defaults (1 full in ${TICKS_PER_FULL_SHOW}) | peer PID 1 ms/scrape (ticks) | peer dbus-daemon ms | peer own CPU ms/scrape | peer RSS MB | peer --private PID 1 ms / own ms | tick PID 1 / peer PID 1 at the defaults |`,
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const user = (c: Cost): string => `${f2(c.pid1Ms)} + ${f2(c.dbusMs)}`;
    const perTick = amortised(r.tickUser.pid1Ms, r.tickUserFull.pid1Ms);
    out.push(
      `| ${r.n} | ${r.reps} | ${f2(r.idlePid1MsPerS)} | ${f2(r.tick.pid1Ms)} (${f1(r.tick.pid1TickMs)}) / ${f2(r.tickFull.pid1Ms)} (${f1(r.tickFull.pid1TickMs)}) | ` +
        `${f1(r.tick.ownCpuMs)} / ${f1(r.tickFull.ownCpuMs)} | ${user(r.tickUser)} / ${user(r.tickUserFull)} / ` +
        `${f2(perTick)} + ${f2(amortised(r.tickUser.dbusMs, r.tickUserFull.dbusMs))} | ${f2(r.peer.pid1Ms)} (${f1(r.peer.pid1TickMs)}) | ${f2(r.peer.dbusMs)} | ` +
        `${f1(r.peer.ownCpuMs)} | ${f1(r.peer.rssMb)} | ${f2(r.peerPrivate.pid1Ms)} / ${f1(r.peerPrivate.ownCpuMs)} | ${f2(perTick / r.peer.pid1Ms)} |`,
    );
  }
  return out.join('\n');
}

export function renderBare(rows: readonly Row[]): string {
  const out = [
    '| N | points | tick | tick CPU ms | bare CPU ms | tick peak RSS MB | bare peak RSS MB | wall x | CPU x | RSS x |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const { n, bare: b } of rows) {
    for (const [label, t] of [
      ['quiet (as shipped)', b.quiet],
      ['every unit shown', b.full],
    ] as const) {
      out.push(
        `| ${n} | ${b.points} | ${label} | ${f1(t.cpuMs)} | ${f1(b.bareCpuMs)} | ${f1(t.rssMb)} | ${f1(b.bareRssMb)} | ${f2(t.wallX)} | ${f2(t.cpuX)} | ${f2(t.rssX)} |`,
      );
    }
  }
  return out.join('\n');
}

export function renderCalls(rows: readonly CallRow[]): string {
  const out = ['| N | call | PID 1 ms/call (ticks) | dbus-daemon ms | systemctl own CPU ms | wall ms |', '|---|---|---|---|---|---|'];
  for (const r of rows) {
    const c = r.cost;
    out.push(`| ${r.n} | ${r.call} | ${f2(c.pid1Ms)} (${f1(c.pid1TickMs)}) | ${f2(c.dbusMs)} | ${f1(c.ownCpuMs)} | ${f1(c.wallMs)} |`);
  }
  return out.join('\n');
}

async function main(argv: readonly string[]): Promise<void> {
  let reps = 20;
  let sizes = [10, 1000];
  let calls = true;
  let bundle = DEFAULT_BUNDLE;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--reps') reps = Number(argv[++i]);
    else if (a === '--sizes') sizes = String(argv[++i]).split(',').map(Number);
    else if (a === '--bundle') bundle = String(argv[++i]);
    else if (a === '--no-calls') calls = false;
    else throw new Error(`unknown argument ${a}; usage: pid1.ts [--reps N] [--sizes 10,1000] [--bundle PATH] [--no-calls]`);
  }
  if (!Number.isInteger(reps) || reps < 1 || reps > 1000) throw new Error(`--reps ${reps}: 1 to 1000`);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 9999)) throw new Error(`--sizes: integers 1 to 9999`);
  console.log(`CLK_TCK ${CLK_TCK}; ${reps} reps after ${WARMUP} warm-ups; bundle ${bundle}`);
  const rows = await measurePid1({ sizes, reps, bundle });
  console.log(renderRows(rows));
  console.log('');
  console.log(renderBare(rows));
  if (calls) {
    console.log('');
    console.log(renderCalls(await measureCalls({ n: Math.max(...sizes), reps })));
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  });
}
