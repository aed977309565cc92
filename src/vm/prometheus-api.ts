/**
 * Edge: VictoriaMetrics' Prometheus query API (`/api/v1/query`, `/api/v1/query_range`) over
 * node's global fetch. It only does I/O: plain data in, plain data out, every failure a
 * HeartbeatError with EXIT.failure that names the URL (credentials removed) and the reason.
 */
import { EXIT, HeartbeatError, describeError } from '../errors.ts';
import { parseHttpUrl, redactUrl } from '../url.ts';

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
 * The base URL without user:password, which becomes a Basic Authorization header: fetch
 * refuses URLs that carry credentials, while the push accepts them in the endpoint.
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

export function createPrometheusApi(options: PrometheusApiOptions): PrometheusApi {
  const where = redactUrl(options.baseUrl).replace(/\/+$/, '');

  async function get(path: string, params: Record<string, string>): Promise<Record<string, unknown>> {
    // nocache=1: VictoriaMetrics' response cache would align start/end to the step and may
    // serve a result computed before late samples (a replayed spool) arrived.
    const url = `${options.baseUrl}${path}?${new URLSearchParams({ ...params, nocache: '1' })}`;
    let response: Response;
    let body: string;
    try {
      response = await fetch(url, { headers: { Accept: 'application/json', ...options.headers }, signal: options.signal });
      body = await response.text();
    } catch (error) {
      if (options.signal.aborted) {
        throw new HeartbeatError(
          EXIT.failure,
          `VictoriaMetrics at ${where} did not answer within ${options.timeoutMs} ms (--timeout; check --vm-url)`,
        );
      }
      const cause = (error as { cause?: unknown }).cause;
      const reason = cause instanceof Error ? `${describeError(error)}: ${describeError(cause)}` : describeError(error);
      throw new HeartbeatError(EXIT.failure, `VictoriaMetrics at ${where} cannot be queried: ${reason} (check --vm-url)`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = undefined;
    }
    if (!response.ok || !isRecord(parsed) || parsed['status'] !== 'success') {
      const detail = isRecord(parsed) && typeof parsed['error'] === 'string' ? parsed['error'] : body.slice(0, 200);
      const hint = response.status === 401 || response.status === 403 ? ' (check the Authorization header or credential)' : '';
      throw new HeartbeatError(
        EXIT.failure,
        `VictoriaMetrics at ${where} refused ${path} (HTTP ${response.status})${hint}: ${describeError(detail)}`,
      );
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
