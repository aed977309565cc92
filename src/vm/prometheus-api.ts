/**
 * Edge: VictoriaMetrics' Prometheus query API (`/api/v1/query`, `/api/v1/query_range`) over
 * node:http(s). It only does I/O: plain data in, plain data out, every failure a HeartbeatError
 * with EXIT.failure that names the URL (credentials removed) and the reason. Every read is
 * bounded: the name lookup by the deadline (src/export/lookup.ts), each answer by
 * MAX_ANSWER_BYTES (Content-Length checked first, then counted while it streams), and the
 * whole request by the caller's signal, which destroys the socket. (Not global fetch: it cannot
 * cap a body without the same streaming, its getaddrinfo cannot be abandoned, and Node 18 prints
 * an ExperimentalWarning for it.)
 */
import type { IncomingHttpHeaders } from 'node:http';
import { EXIT, HeartbeatError, describeError } from '../errors.ts';
import { boundedLookup } from '../export/lookup.ts';
import { maskSecrets, printable, secretsOf } from '../text.ts';
import { parseHttpUrl, redactUrl } from '../url.ts';

/**
 * The largest answer read. The summary's biggest answers are range queries of failing series:
 * 2,500 failed units over 10 minutes is about 2 MB, a day of one host's runs about 0.2 MB.
 * An answer beyond this is not VictoriaMetrics answering the summary (or a window to narrow).
 */
export const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

/** One series of an instant query: its labels and one value (`time` in unix seconds). */
export interface InstantSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly time: number;
  readonly value: number;
}

/** One series of a range query: its labels and the points that survived the query's filters. */
export interface RangeSeries {
  readonly labels: Readonly<Record<string, string>>;
  /** Unix seconds, ascending; parallel to `values`. */
  readonly times: readonly number[];
  readonly values: readonly number[];
}

export interface PrometheusApi {
  /** Instant query evaluated at `time` (unix seconds). */
  query(query: string, time: number): Promise<InstantSeries[]>;
  /** Range query from `start` to `end` (unix seconds) every `step` seconds. */
  queryRange(query: string, start: number, end: number, step: number): Promise<RangeSeries[]>;
}

export interface PrometheusApiOptions {
  /** e.g. http://127.0.0.1:8428, or a vmselect prefix such as http://vmselect:8481/select/0/prometheus. */
  readonly baseUrl: string;
  /** Sent with every request (Authorization from --header, the OTEL_* header variables or the credential). */
  readonly headers: Readonly<Record<string, string>>;
  /** Aborts every request still running: the whole summary shares one deadline. */
  readonly signal: AbortSignal;
  /** How long the deadline is, for the error message. */
  readonly timeoutMs: number;
}

/**
 * The base URL without user:password, which becomes a Basic Authorization header: the
 * credentials travel in a header (masked in every message), never in a URL that is shown.
 */
export function splitCredentials(url: string, field: string): { url: string; headers: Record<string, string> } {
  const parsed = parseHttpUrl(url, field, 'http://127.0.0.1:8428');
  const headers: Record<string, string> = {};
  if (parsed.username !== '' || parsed.password !== '') {
    const user = decodeURIComponent(parsed.username);
    const password = decodeURIComponent(parsed.password);
    headers['Authorization'] = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    parsed.username = '';
    parsed.password = '';
  }
  parsed.search = '';
  parsed.hash = '';
  return { url: parsed.toString().replace(/\/+$/, ''), headers };
}

/**
 * VictoriaMetrics' error text without the request it repeats: `remoteAddr: "..."; requestURI:
 * /api/v1/query?query=...; unsupported path requested: ...` puts the reason after a query of
 * any length, which a cut at a fixed length would lose.
 */
export function reasonOf(text: string): string {
  const match = /^remoteAddr: "[^"]*"; requestURI: \S*; ([\s\S]*)$/.exec(text.trim());
  return describeError(match?.[1] ?? text);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Sample values are JSON strings ("7", "NaN", "+Inf"); Number() reads all of them but "+Inf". */
function sampleValue(raw: unknown): number {
  if (raw === '+Inf' || raw === 'Inf') return Infinity;
  if (raw === '-Inf') return -Infinity;
  return typeof raw === 'string' || typeof raw === 'number' ? Number(raw) : NaN;
}

function labelsOf(raw: unknown): Record<string, string> {
  const labels: Record<string, string> = {};
  if (isRecord(raw)) for (const [k, v] of Object.entries(raw)) labels[k] = String(v);
  return labels;
}

function pair(raw: unknown): { time: number; value: number } | undefined {
  if (!Array.isArray(raw) || raw.length !== 2 || typeof raw[0] !== 'number') return undefined;
  return { time: raw[0], value: sampleValue(raw[1]) };
}

/** Seconds with at most millisecond digits, the API's own precision. */
function seconds(value: number): string {
  return String(Math.round(value * 1000) / 1000);
}

class AnswerTooLarge extends Error {
  constructor(readonly declared: number | undefined) {
    super('answer too large');
  }
}

/**
 * One GET, its body read up to MAX_ANSWER_BYTES; the signal destroys the request. node:http(s)
 * is loaded here, not at import: every tick loads this module with the CLI, and node:https at
 * start-up (tls, crypto) cost the tick ~0.07 of the floor's CPU at 10 units (scripts/bench/ab.ts).
 */
async function getText(
  url: string,
  headers: Readonly<Record<string, string>>,
  signal: AbortSignal,
  lookup: ReturnType<typeof boundedLookup>,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  const target = new URL(url);
  const { request: send } = target.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise((resolve, reject) => {
    const req = send(target, { headers, signal, lookup, agent: false }, (res) => {
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > MAX_ANSWER_BYTES) {
        req.destroy();
        reject(new AnswerTooLarge(declared));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) {
          req.destroy();
          reject(new AnswerTooLarge(undefined));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export function createPrometheusApi(options: PrometheusApiOptions): PrometheusApi {
  const where = redactUrl(options.baseUrl).replace(/\/+$/, '');

  const lookup = boundedLookup(options.timeoutMs);

  async function get(path: string, params: Record<string, string>): Promise<Record<string, unknown>> {
    // nocache=1: VictoriaMetrics' response cache would align start/end to the step and may
    // serve a result computed before late samples (a replayed spool) arrived.
    const url = `${options.baseUrl}${path}?${new URLSearchParams({ ...params, nocache: '1' })}`;
    let response: { status: number; headers: IncomingHttpHeaders; body: string };
    try {
      response = await getText(url, { Accept: 'application/json', ...options.headers }, options.signal, lookup);
    } catch (error) {
      if (error instanceof HeartbeatError) throw error;
      if (options.signal.aborted) {
        throw new HeartbeatError(
          EXIT.failure,
          `VictoriaMetrics at ${where} did not answer within ${options.timeoutMs} ms (--timeout; check --vm-url)`,
        );
      }
      if (error instanceof AnswerTooLarge) {
        throw new HeartbeatError(
          EXIT.failure,
          `VictoriaMetrics at ${where}: the answer to ${path} is larger than ${MAX_ANSWER_BYTES / 1024 / 1024} MiB${error.declared ? ` (Content-Length ${error.declared})` : ''}; is --vm-url VictoriaMetrics? (or narrow --since / --host)`,
        );
      }
      throw new HeartbeatError(EXIT.failure, `VictoriaMetrics at ${where} cannot be queried: ${describeError(error)} (check --vm-url)`);
    }
    const body = response.body;
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = undefined;
    }
    if (response.status < 200 || response.status > 299 || !isRecord(parsed) || parsed['status'] !== 'success') {
      const raw = isRecord(parsed) && typeof parsed['error'] === 'string' ? parsed['error'] : body;
      const reason = printable(maskSecrets(reasonOf(raw), secretsOf(options.headers))).slice(0, 300);
      const hint =
        response.status === 401 || response.status === 403
          ? ' (check the Authorization header or credential)'
          : /unsupported path requested/.test(raw)
            ? " (this server answers no queries, e.g. a vmagent: point --vm-url at VictoriaMetrics, or vmselect's .../select/<tenant>/prometheus)"
            : '';
      throw new HeartbeatError(EXIT.failure, `VictoriaMetrics at ${where} refused ${path} (HTTP ${response.status}): ${reason}${hint}`);
    }
    const data = parsed['data'];
    if (!isRecord(data)) throw new HeartbeatError(EXIT.failure, `VictoriaMetrics at ${where}: ${path} answered without data`);
    return data;
  }

  return {
    async query(query, time) {
      const data = await get('/api/v1/query', { query, time: seconds(time) });
      const result = data['result'];
      if (data['resultType'] === 'scalar') {
        const p = pair(result);
        return p ? [{ labels: {}, ...p }] : [];
      }
      if (data['resultType'] !== 'vector' || !Array.isArray(result)) {
        throw new HeartbeatError(EXIT.failure, `VictoriaMetrics at ${where}: expected a vector for ${query}`);
      }
      return result.flatMap((item: unknown) => {
        const p = isRecord(item) ? pair(item['value']) : undefined;
        return p && isRecord(item) && !Number.isNaN(p.value) ? [{ labels: labelsOf(item['metric']), ...p }] : [];
      });
    },
    async queryRange(query, start, end, step) {
      const data = await get('/api/v1/query_range', { query, start: seconds(start), end: seconds(end), step: `${step}s` });
      const result = data['result'];
      if (data['resultType'] !== 'matrix' || !Array.isArray(result)) {
        throw new HeartbeatError(EXIT.failure, `VictoriaMetrics at ${where}: expected a matrix for ${query}`);
      }
      return result.flatMap((item: unknown) => {
        if (!isRecord(item) || !Array.isArray(item['values'])) return [];
        const points = item['values']
          .map(pair)
          .filter((p): p is { time: number; value: number } => p !== undefined && !Number.isNaN(p.value));
        return [{ labels: labelsOf(item['metric']), times: points.map((p) => p.time), values: points.map((p) => p.value) }];
      });
    },
  };
}
