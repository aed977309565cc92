// Test support: run REAL VictoriaMetrics, vmalert and vmalert-tool (Debian's 1.112.0 build,
// fetched by scripts/fetch-victoriametrics.sh) on free loopback ports.
//
// Every process started here is tracked by PID and stopped by PID; an exit/signal hook SIGKILLs
// whatever a crashed test left running. Every wait is bounded in time and in iterations.
//
// Timestamps: every timestamp this module accepts or returns is in MILLISECONDS since the
// epoch (Date.now() style), the unit of /api/v1/export and of the text exposition format.
// The Prometheus query API speaks seconds; the conversion happens here and nowhere else.

import { spawn, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants as fsConstants,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { atProcessEnd } from './process-end.ts';

/** Where scripts/fetch-victoriametrics.sh unpacks the binaries. */
export const VM_BIN_DIR: string = fileURLToPath(new URL('../../.cache/victoria-metrics/root/usr/bin', import.meta.url));

const REQUIRED_BINARIES = ['victoria-metrics', 'vmalert', 'vmalert-tool'] as const;

const HTTP_TIMEOUT_MS = 15_000;
const READY_TIMEOUT_MS = 30_000;
const READY_POLL_MS = 100;
const TERM_TIMEOUT_MS = 15_000;
const KILL_TIMEOUT_MS = 5_000;
const PORT_ATTEMPTS = 5;
const LOG_TAIL_LINES = 25;

/** Why the VictoriaMetrics tests cannot run here, or undefined when they can. */
export function victoriaUnavailable(): string | undefined {
  if (process.platform !== 'linux') {
    return `VictoriaMetrics test binaries are Linux builds; this is ${process.platform}`;
  }
  const missing = REQUIRED_BINARIES.filter((name) => {
    try {
      accessSync(join(VM_BIN_DIR, name), fsConstants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    return `VictoriaMetrics binaries missing from ${VM_BIN_DIR} (${missing.join(', ')}); run scripts/fetch-victoriametrics.sh`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Result types (timestamps in ms)

export type Labels = Record<string, string>;

export interface InstantSample {
  readonly metric: Labels;
  /** ms since the epoch */
  readonly timestamp: number;
  readonly value: number;
}
export type InstantVector = InstantSample[];

export interface SeriesSamples {
  readonly metric: Labels;
  /** parallel to timestamps */
  readonly values: number[];
  /** ms since the epoch */
  readonly timestamps: number[];
}
export type RangeMatrix = SeriesSamples[];

export interface Victoria {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** url + '/opentelemetry/v1/metrics' */
  readonly otlpUrl: string;
  /** PID of the current process (changes on restart()) */
  readonly pid: number;
  /** Where the server's stdout/stderr go (inside its tmp dir, removed by stop()). */
  readonly logPath: string;
  /** /api/v1/query at timeMs (default: now); throws unless status is success and the result is a vector/scalar. */
  query(q: string, timeMs?: number): Promise<InstantVector>;
  /** /api/v1/query_range; step is a duration such as '30s'. */
  queryRange(q: string, startMs: number, endMs: number, step: string): Promise<RangeMatrix>;
  /** /api/v1/series; start defaults to the epoch, end to now (VictoriaMetrics alone would look back one day only). */
  series(match: string, startMs?: number, endMs?: number): Promise<Labels[]>;
  /** /api/v1/export: every raw sample stored for match, all time. */
  exportRaw(match: string): Promise<SeriesSamples[]>;
  /**
   * flush + exportRaw until `ready` says yes (at most ~10 s), then the last export either way:
   * VictoriaMetrics 1.112 sometimes makes an answered push searchable only ~1 s later.
   */
  exportWhen(match: string, ready: (series: SeriesSamples[]) => boolean): Promise<SeriesSamples[]>;
  /** /api/v1/import/prometheus: text exposition, optional timestamps in ms; for backfilling history. */
  importPrometheus(text: string): Promise<void>;
  /** /internal/force_flush: make just-written samples searchable now. */
  flush(): Promise<void>;
  /** SIGTERM, bounded wait, SIGKILL if needed; removes the data dir. Idempotent. */
  stop(): Promise<void>;
  /** Stop (graceful, data kept) and start again on the same port. */
  restart(): Promise<void>;
  /** Stop (graceful, data kept): an outage; resume() starts it again on the same port. */
  halt(): Promise<void>;
  resume(): Promise<void>;
}

export interface VictoriaOptions {
  /** -opentelemetry.usePrometheusNaming */
  prometheusNaming?: boolean;
  /** Appended last, so a scalar flag given here overrides the defaults. */
  extraFlags?: string[];
  /** -retentionPeriod; default 100y so backfilled old samples are kept (older ones are dropped silently). */
  retention?: string;
}

export interface VmalertAlert {
  name: string;
  labels: Labels;
  annotations: Labels;
  /** 'pending' | 'firing' | 'inactive' */
  state: string;
}

export interface Vmalert {
  readonly url: string;
  readonly pid: number;
  readonly logPath: string;
  /** /api/v1/alerts */
  alerts(): Promise<VmalertAlert[]>;
  /** Same contract as Victoria.stop(). */
  stop(): Promise<void>;
}

export interface VmalertOptions {
  ruleFiles: string[];
  datasourceUrl: string;
  /** -evaluationInterval; default '1s' so tests need not wait. */
  evaluationInterval?: string;
  /** Appended last, so a scalar flag given here overrides the defaults. */
  extraFlags?: string[];
}

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

// ---------------------------------------------------------------------------------------------
// Process bookkeeping: nothing outlives the test process.

const liveChildren = new Set<ChildProcess>();
const liveTmpDirs = new Set<string>();
let heldToolLock: string | undefined;

function cleanupSync(): void {
  for (const child of liveChildren) {
    if (child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  liveChildren.clear();
  for (const dir of liveTmpDirs) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // best effort: a SIGKILLed server may still be writing for a moment
    }
  }
  liveTmpDirs.clear();
  if (heldToolLock !== undefined) {
    rmSync(heldToolLock, { recursive: true, force: true });
    heldToolLock = undefined;
  }
}

function installHooks(): void {
  atProcessEnd(cleanupSync);
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function describeExit(child: ChildProcess): string {
  return child.signalCode !== null ? `signal ${child.signalCode}` : `code ${String(child.exitCode)}`;
}

/** Resolves true once the child has exited (and been reaped), false after ms. */
function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(hasExited(child));
    }, ms);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

/** SIGTERM by PID, bounded wait, SIGKILL by PID, bounded wait. */
async function terminate(child: ChildProcess, name: string): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || hasExited(child)) {
    liveChildren.delete(child);
    return;
  }
  process.kill(pid, 'SIGTERM');
  if (!(await waitForExit(child, TERM_TIMEOUT_MS))) {
    process.kill(pid, 'SIGKILL');
    if (!(await waitForExit(child, KILL_TIMEOUT_MS))) {
      throw new Error(`${name} (pid ${pid}) survived SIGKILL for ${KILL_TIMEOUT_MS} ms`);
    }
  }
  liveChildren.delete(child);
}

/** Spawn with stdout+stderr appended to logPath; resolves once the PID exists. */
async function spawnLogged(bin: string, args: string[], logPath: string, cwd: string): Promise<ChildProcess> {
  installHooks();
  const fd = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(join(VM_BIN_DIR, bin), args, { cwd, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd); // the child holds its own copy
  }
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  // A test that forgets stop() must not hang the runner; the exit hook kills the child.
  child.unref();
  return child;
}

function logSize(logPath: string): number {
  try {
    return statSync(logPath).size;
  } catch {
    return 0;
  }
}

/** The log written since byte offset `from` (one process run), at most 1 MiB. */
function readLogSince(logPath: string, from: number): string {
  let fd: number;
  try {
    fd = openSync(logPath, 'r');
  } catch {
    return '';
  }
  try {
    const size = statSync(logPath).size;
    const start = Math.max(from, size - 1024 * 1024);
    const buf = Buffer.alloc(Math.max(0, size - start));
    readSync(fd, buf, 0, buf.length, start);
    return buf.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function tail(text: string, lines = LOG_TAIL_LINES): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A port that was free a moment ago (listen on 127.0.0.1:0, close). Racy by nature: callers retry on a clash. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('cannot read the address of a probe listener'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

class PortClashError extends Error {}

/**
 * Ready = /health says OK AND this run's log says it bound our port. The second check matters:
 * after a port clash our process fails to bind, while whoever holds the port answers /health.
 */
async function waitReady(child: ChildProcess, name: string, port: number, logPath: string, logFrom: number): Promise<void> {
  const base = `http://127.0.0.1:${port}`;
  const bound = `started server at ${base}/`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const maxPolls = Math.ceil(READY_TIMEOUT_MS / READY_POLL_MS) + 1;
  for (let poll = 0; poll < maxPolls && Date.now() < deadline; poll++) {
    if (hasExited(child)) {
      const log = readLogSince(logPath, logFrom);
      if (/address already in use/i.test(log)) {
        throw new PortClashError(`${name}: port ${port} already in use`);
      }
      throw new Error(`${name} exited with ${describeExit(child)} before it was ready; log ${logPath}:\n${tail(log)}`);
    }
    try {
      const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(1_000) });
      const body = await res.text();
      if (res.ok && body.trim() === 'OK' && readLogSince(logPath, logFrom).includes(bound)) return;
    } catch {
      // not listening yet
    }
    await sleep(READY_POLL_MS);
  }
  const pid = child.pid;
  await terminate(child, name).catch(() => undefined);
  throw new Error(
    `${name} (pid ${String(pid)}) did not answer ${base}/health within ${READY_TIMEOUT_MS} ms; log ${logPath}:\n` +
      tail(readLogSince(logPath, logFrom)),
  );
}

/** Spawn and wait until ready on `port`; on any failure the process is gone. */
async function launch(bin: string, args: string[], port: number, logPath: string, cwd: string): Promise<ChildProcess> {
  const logFrom = logSize(logPath);
  const child = await spawnLogged(bin, args, logPath, cwd);
  try {
    await waitReady(child, bin, port, logPath, logFrom);
  } catch (error) {
    await terminate(child, bin).catch(() => undefined);
    throw error;
  }
  return child;
}

/** Launch on a fresh free port, retrying a bounded number of times when another process wins the port. */
async function launchOnFreePort(
  bin: string,
  argsFor: (port: number) => string[],
  logPath: string,
  cwd: string,
): Promise<{ child: ChildProcess; port: number }> {
  let lastClash: unknown;
  for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
    const port = await freePort();
    try {
      return { child: await launch(bin, argsFor(port), port, logPath, cwd), port };
    } catch (error) {
      if (!(error instanceof PortClashError)) throw error;
      lastClash = error;
    }
  }
  throw new Error(`${bin}: no free port after ${PORT_ATTEMPTS} attempts (${String(lastClash)})`);
}

// ---------------------------------------------------------------------------------------------
// HTTP

async function request(url: string, init: RequestInit = {}): Promise<{ status: number; body: string }> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  } catch (error) {
    throw new Error(`${init.method ?? 'GET'} ${url} failed: ${String(error)}`);
  }
  return { status: res.status, body: await res.text() };
}

function expectStatus(url: string, got: { status: number; body: string }, ok: readonly number[]): void {
  if (!ok.includes(got.status)) {
    throw new Error(`${url} answered HTTP ${got.status}: ${got.body.slice(0, 500)}`);
  }
}

/** GET a Prometheus-API JSON endpoint; returns `data`, throws unless status is success. */
async function getApiData(url: string): Promise<unknown> {
  const got = await request(url);
  let parsed: unknown;
  try {
    parsed = JSON.parse(got.body);
  } catch {
    throw new Error(`${url} answered HTTP ${got.status} with non-JSON: ${got.body.slice(0, 500)}`);
  }
  if (!isRecord(parsed) || parsed['status'] !== 'success') {
    const detail = isRecord(parsed) ? `${String(parsed['errorType'])}: ${String(parsed['error'])}` : got.body.slice(0, 500);
    throw new Error(`${url} failed (HTTP ${got.status}): ${detail}`);
  }
  return parsed['data'];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toLabels(value: unknown, what: string): Labels {
  if (!isRecord(value)) throw new Error(`${what}: expected a label object, got ${JSON.stringify(value)}`);
  const labels: Labels = {};
  for (const [key, v] of Object.entries(value)) labels[key] = String(v);
  return labels;
}

/** Sample values arrive as JSON numbers or strings: "7", "+Inf", "NaN", "Infinity" (export). */
function parseSampleValue(value: unknown): number {
  if (typeof value === 'number') return value;
  switch (value) {
    case '+Inf':
    case 'Inf':
    case 'Infinity':
    case '+Infinity':
      return Infinity;
    case '-Inf':
    case '-Infinity':
      return -Infinity;
    case 'NaN':
    case null:
      return NaN;
  }
  const n = typeof value === 'string' ? Number(value) : NaN;
  if (Number.isNaN(n)) throw new Error(`cannot parse sample value ${JSON.stringify(value)}`);
  return n;
}

/** API [seconds, "value"] pair -> ms timestamp and number. */
function parsePair(pair: unknown, what: string): { timestamp: number; value: number } {
  if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'number') {
    throw new Error(`${what}: expected [seconds, "value"], got ${JSON.stringify(pair)}`);
  }
  return { timestamp: Math.round(pair[0] * 1000), value: parseSampleValue(pair[1]) };
}

/** ms -> the API's seconds, exact to the millisecond. */
function apiSeconds(ms: number): string {
  if (!Number.isFinite(ms)) throw new Error(`timestamp must be finite ms, got ${ms}`);
  return (ms / 1000).toFixed(3);
}

// ---------------------------------------------------------------------------------------------
// VictoriaMetrics

class VictoriaServer implements Victoria {
  readonly url: string;
  readonly otlpUrl: string;
  readonly logPath: string;
  #child: ChildProcess;
  #stopping: Promise<void> | undefined;

  constructor(
    child: ChildProcess,
    readonly port: number,
    readonly dir: string,
    private readonly argsFor: (port: number) => string[],
  ) {
    this.#child = child;
    this.url = `http://127.0.0.1:${port}`;
    this.otlpUrl = `${this.url}/opentelemetry/v1/metrics`;
    this.logPath = join(dir, 'victoria.log');
  }

  get pid(): number {
    const pid = this.#child.pid;
    if (pid === undefined) throw new Error('victoria-metrics has no pid');
    return pid;
  }

  async query(q: string, timeMs?: number): Promise<InstantVector> {
    // Default: now rounded UP to the second. VictoriaMetrics cuts a default "now" down to the
    // second, which misses a sample written within the current second.
    const params = new URLSearchParams({ query: q, time: apiSeconds(timeMs ?? Math.ceil(Date.now() / 1000) * 1000) });
    const url = `${this.url}/api/v1/query?${params}`;
    const data = await getApiData(url);
    if (!isRecord(data)) throw new Error(`${url}: no data object`);
    const { resultType, result } = data;
    if (resultType === 'scalar') {
      return [{ metric: {}, ...parsePair(result, url) }];
    }
    if (resultType !== 'vector' || !Array.isArray(result)) {
      throw new Error(`${url}: expected an instant vector, got resultType ${String(resultType)} (use queryRange or exportRaw)`);
    }
    return result.map((item: unknown) => {
      if (!isRecord(item)) throw new Error(`${url}: bad result item ${JSON.stringify(item)}`);
      return { metric: toLabels(item['metric'], url), ...parsePair(item['value'], url) };
    });
  }

  async queryRange(q: string, startMs: number, endMs: number, step: string): Promise<RangeMatrix> {
    const params = new URLSearchParams({ query: q, start: apiSeconds(startMs), end: apiSeconds(endMs), step });
    const url = `${this.url}/api/v1/query_range?${params}`;
    const data = await getApiData(url);
    if (!isRecord(data) || data['resultType'] !== 'matrix' || !Array.isArray(data['result'])) {
      throw new Error(`${url}: expected a matrix, got ${JSON.stringify(data).slice(0, 300)}`);
    }
    return data['result'].map((item: unknown) => {
      if (!isRecord(item) || !Array.isArray(item['values'])) {
        throw new Error(`${url}: bad result item ${JSON.stringify(item)}`);
      }
      const pairs = item['values'].map((pair: unknown) => parsePair(pair, url));
      return {
        metric: toLabels(item['metric'], url),
        values: pairs.map((p) => p.value),
        timestamps: pairs.map((p) => p.timestamp),
      };
    });
  }

  async series(match: string, startMs?: number, endMs?: number): Promise<Labels[]> {
    // start=0 means "unset" to VictoriaMetrics (last day only), so the epoch is sent as 1 ms.
    const params = new URLSearchParams({ 'match[]': match, start: apiSeconds(startMs ?? 1) });
    if (endMs !== undefined) params.set('end', apiSeconds(endMs));
    const url = `${this.url}/api/v1/series?${params}`;
    const data = await getApiData(url);
    if (!Array.isArray(data)) throw new Error(`${url}: expected a list of series`);
    return data.map((item: unknown) => toLabels(item, url));
  }

  async exportWhen(match: string, ready: (series: SeriesSamples[]) => boolean): Promise<SeriesSamples[]> {
    let series: SeriesSamples[] = [];
    for (let attempt = 0; attempt < 40; attempt++) {
      await this.flush();
      series = await this.exportRaw(match);
      if (ready(series)) break;
      await sleep(250);
    }
    return series;
  }

  async exportRaw(match: string): Promise<SeriesSamples[]> {
    // An explicit end a minute ahead: the default "now" is cut to the second and would miss
    // a sample written within the current second.
    const params = new URLSearchParams({ 'match[]': match, start: '0', end: String(Math.ceil(Date.now() / 1000) + 60) });
    const url = `${this.url}/api/v1/export?${params}`;
    const got = await request(url);
    expectStatus(url, got, [200]);
    return got.body
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        const item: unknown = JSON.parse(line);
        if (!isRecord(item) || !Array.isArray(item['values']) || !Array.isArray(item['timestamps'])) {
          throw new Error(`${url}: bad export line ${line.slice(0, 300)}`);
        }
        return {
          metric: toLabels(item['metric'], url),
          values: item['values'].map(parseSampleValue),
          timestamps: item['timestamps'].map((t: unknown) => Number(t)),
        };
      });
  }

  async importPrometheus(text: string): Promise<void> {
    const url = `${this.url}/api/v1/import/prometheus`;
    const body = text.endsWith('\n') ? text : `${text}\n`;
    expectStatus(url, await request(url, { method: 'POST', body }), [200, 204]);
  }

  async flush(): Promise<void> {
    const url = `${this.url}/internal/force_flush`;
    expectStatus(url, await request(url), [200]);
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      try {
        await terminate(this.#child, 'victoria-metrics');
      } finally {
        await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
        liveTmpDirs.delete(this.dir);
      }
    })();
    return this.#stopping;
  }

  async restart(): Promise<void> {
    await this.halt();
    await this.resume();
  }

  async halt(): Promise<void> {
    if (this.#stopping !== undefined) throw new Error('halt() after stop()');
    await terminate(this.#child, 'victoria-metrics');
  }

  async resume(): Promise<void> {
    if (this.#stopping !== undefined) throw new Error('resume() after stop()');
    // The port was ours a moment ago; another process may grab it in between, so retry briefly.
    let lastError: unknown;
    for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
      try {
        this.#child = await launch('victoria-metrics', this.argsFor(this.port), this.port, this.logPath, this.dir);
        return;
      } catch (error) {
        if (!(error instanceof PortClashError)) throw error;
        lastError = error;
        await sleep(200 * attempt);
      }
    }
    throw new Error(`victoria-metrics could not restart on port ${this.port}: ${String(lastError)}`);
  }
}

function requireBinaries(): void {
  const reason = victoriaUnavailable();
  if (reason !== undefined) throw new Error(reason);
}

async function makeTmpDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  liveTmpDirs.add(dir);
  return dir;
}

export async function startVictoria(opts: VictoriaOptions = {}): Promise<Victoria> {
  requireBinaries();
  const dir = await makeTmpDir('victoria-metrics-');
  const dataDir = join(dir, 'data');
  const argsFor = (port: number): string[] => [
    `-httpListenAddr=127.0.0.1:${port}`,
    `-storageDataPath=${dataDir}`,
    `-retentionPeriod=${opts.retention ?? '100y'}`,
    // Default 30s hides just-written samples from queries; tests assert right after a push.
    '-search.latencyOffset=0s',
    // The response cache would keep serving results computed before a backfill.
    '-search.disableCache',
    ...(opts.prometheusNaming === true ? ['-opentelemetry.usePrometheusNaming'] : []),
    ...(opts.extraFlags ?? []),
  ];
  const logPath = join(dir, 'victoria.log');
  try {
    const { child, port } = await launchOnFreePort('victoria-metrics', argsFor, logPath, dir);
    return new VictoriaServer(child, port, dir, argsFor);
  } catch (error) {
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    liveTmpDirs.delete(dir);
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// vmalert

class VmalertServer implements Vmalert {
  readonly url: string;
  readonly logPath: string;
  #stopping: Promise<void> | undefined;

  constructor(
    private readonly child: ChildProcess,
    port: number,
    private readonly dir: string,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.logPath = join(dir, 'vmalert.log');
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new Error('vmalert has no pid');
    return pid;
  }

  async alerts(): Promise<VmalertAlert[]> {
    const url = `${this.url}/api/v1/alerts`;
    const data = await getApiData(url);
    if (!isRecord(data) || !Array.isArray(data['alerts'])) throw new Error(`${url}: expected data.alerts`);
    return data['alerts'].map((item: unknown) => {
      if (!isRecord(item)) throw new Error(`${url}: bad alert ${JSON.stringify(item)}`);
      return {
        name: String(item['name']),
        labels: toLabels(item['labels'] ?? {}, url),
        annotations: toLabels(item['annotations'] ?? {}, url),
        state: String(item['state']),
      };
    });
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      try {
        await terminate(this.child, 'vmalert');
      } finally {
        await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
        liveTmpDirs.delete(this.dir);
      }
    })();
    return this.#stopping;
  }
}

export async function startVmalert(opts: VmalertOptions): Promise<Vmalert> {
  requireBinaries();
  if (opts.ruleFiles.length === 0) throw new Error('startVmalert: ruleFiles is empty');
  const dir = await makeTmpDir('vmalert-');
  const argsFor = (port: number): string[] => [
    ...opts.ruleFiles.map((file) => `-rule=${file}`),
    `-datasource.url=${opts.datasourceUrl}`,
    // No alertmanager in tests; alerts are read from /api/v1/alerts.
    '-notifier.blackhole',
    `-httpListenAddr=127.0.0.1:${port}`,
    `-evaluationInterval=${opts.evaluationInterval ?? '1s'}`,
    // vmalert's default 30s matches VictoriaMetrics' default -search.latencyOffset; ours is 0s
    // (startVictoria), and vmalert's help says the two should be equal.
    '-rule.evalDelay=0s',
    ...(opts.extraFlags ?? []),
  ];
  const logPath = join(dir, 'vmalert.log');
  try {
    const { child, port } = await launchOnFreePort('vmalert', argsFor, logPath, dir);
    return new VmalertServer(child, port, dir);
  } catch (error) {
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    liveTmpDirs.delete(dir);
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// vmalert-tool

// vmalert-tool 1.112 `unittest` hard-codes its embedded server to :8880 (all interfaces) and its
// storage to $TMPDIR/vmalert-unittest (app/vmalert-tool/unittest/unittest.go). Two runs at once
// would share both, so runs are serialised machine-wide by a lock directory, and each run gets
// its own TMPDIR.
const TOOL_PORT = 8880;
const TOOL_LOCK = join(tmpdir(), `vmalert-tool-unittest-${TOOL_PORT}.lock`);
const TOOL_LOCK_TIMEOUT_MS = 300_000;
const TOOL_DEFAULT_TIMEOUT_MS = 120_000;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function acquireToolLock(): Promise<void> {
  const deadline = Date.now() + TOOL_LOCK_TIMEOUT_MS;
  const maxPolls = TOOL_LOCK_TIMEOUT_MS / 100 + 1;
  for (let poll = 0; poll < maxPolls && Date.now() < deadline; poll++) {
    try {
      mkdirSync(TOOL_LOCK);
      writeFileSync(join(TOOL_LOCK, 'pid'), String(process.pid));
      heldToolLock = TOOL_LOCK;
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (toolLockIsStale()) {
      rmSync(TOOL_LOCK, { recursive: true, force: true });
      continue;
    }
    await sleep(100);
  }
  throw new Error(`vmalert-tool: lock ${TOOL_LOCK} still held after ${TOOL_LOCK_TIMEOUT_MS} ms`);
}

/** Left by a dead process, or a pid file never written (a holder killed between mkdir and write). */
function toolLockIsStale(): boolean {
  let text: string;
  try {
    text = readFileSync(join(TOOL_LOCK, 'pid'), 'utf8');
  } catch {
    const stat = statSync(TOOL_LOCK, { throwIfNoEntry: false });
    return stat !== undefined && Date.now() - stat.mtimeMs > 10_000;
  }
  const holder = Number(text);
  if (!Number.isInteger(holder) || holder <= 0) return true;
  return holder !== process.pid && !pidAlive(holder);
}

function releaseToolLock(): void {
  if (heldToolLock === undefined) return;
  rmSync(heldToolLock, { recursive: true, force: true });
  heldToolLock = undefined;
}

function portFreeOnAllInterfaces(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, () => server.close(() => resolve(true)));
  });
}

/** Run vmalert-tool with args (e.g. ['unittest', '-files', f]); resolves with its exit code. */
export async function runVmalertTool(args: string[], opts: { timeoutMs?: number } = {}): Promise<ToolResult> {
  requireBinaries();
  const timeoutMs = opts.timeoutMs ?? TOOL_DEFAULT_TIMEOUT_MS;
  const isUnittest = args[0] === 'unittest';
  if (isUnittest) {
    await acquireToolLock();
  }
  const dir = await makeTmpDir('vmalert-tool-');
  try {
    if (isUnittest && !(await portFreeOnAllInterfaces(TOOL_PORT))) {
      throw new Error(`vmalert-tool unittest needs port ${TOOL_PORT} (hard-coded in 1.112), but another process holds it`);
    }
    return await runToCompletion(args, dir, timeoutMs);
  } finally {
    if (isUnittest) releaseToolLock();
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    liveTmpDirs.delete(dir);
  }
}

function runToCompletion(args: string[], dir: string, timeoutMs: number): Promise<ToolResult> {
  installHooks();
  return new Promise((resolve, reject) => {
    const child = spawn(join(VM_BIN_DIR, 'vmalert-tool'), args, {
      env: { ...process.env, TMPDIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, timeoutMs);
    child.once('spawn', () => liveChildren.add(child));
    child.once('error', (error) => {
      clearTimeout(timer);
      liveChildren.delete(child);
      reject(new Error(`cannot run vmalert-tool: ${error.message}`));
    });
    // 'close', not 'exit': the output pipes are drained by then.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      liveChildren.delete(child);
      const result = { stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
      if (timedOut) {
        reject(new Error(`vmalert-tool ${args.join(' ')} timed out after ${timeoutMs} ms:\n${tail(result.stdout + result.stderr)}`));
      } else if (code === null) {
        reject(new Error(`vmalert-tool ${args.join(' ')} died of ${String(signal)}:\n${tail(result.stdout + result.stderr)}`));
      } else {
        resolve({ code, ...result });
      }
    });
  });
}
