/**
 * Edge: one collect and one OTLP/HTTP protobuf export with the OTel SDK, result checked.
 * No PeriodicExportingMetricReader: it logs failed exports and moves on, and its
 * forceFlush + shutdown would push twice.
 */
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { emptyResource } from '@opentelemetry/resources';
import { AggregationTemporality, MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { boundedLookup } from './lookup.ts';
import { EXIT, HeartbeatError } from '../errors.ts';
import { METRICS } from '../metrics/definitions.ts';
import type { Observation, Run } from '../metrics/observe.ts';
import { redactUrl } from '../url.ts';
import { TOKEN_CREDENTIAL, VM_OTLP_PATH } from '../defaults.ts';
import { maskSecrets, printable, secretsOf } from '../text.ts';

export interface PushOptions {
  readonly endpoint: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

/** A reader that only collects when asked: the push is ours to make and to check. */
class OneShotReader extends MetricReader {
  constructor() {
    super({
      // VictoriaMetrics 1.112 drops delta sums; NRestarts is already a cumulative count.
      aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE,
      // The SDK's default of 2000 series per instrument would fold a big host into an overflow series.
      cardinalitySelector: () => 1_000_000,
    });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/**
 * The run as OTLP ResourceMetrics, every data point stamped with the collection time (not the
 * push time): a run replayed from the spool keeps its original timestamps.
 */
export async function toResourceMetrics(run: Run): Promise<ResourceMetrics> {
  const { observations } = run;
  const reader = new OneShotReader();
  // An explicit empty resource: the default one would put service.name and telemetry.sdk.*
  // labels on every series. `host` is a data point label like every other.
  const provider = new MeterProvider({ resource: emptyResource(), readers: [reader] });
  const meter = provider.getMeter('systemd-heartbeat');
  const byName = new Map<string, Observation[]>();
  for (const o of observations) {
    const list = byName.get(o.name);
    if (list) list.push(o);
    else byName.set(o.name, [o]);
  }
  const instruments = METRICS.filter((m) => byName.has(m.name)).map((m) => ({
    observations: byName.get(m.name) ?? [],
    // No unit and no description on the wire: with -opentelemetry.usePrometheusNaming a unit
    // would be appended to the name, and a description is bytes VictoriaMetrics drops.
    instrument: m.type === 'counter' ? meter.createObservableCounter(m.name) : meter.createObservableGauge(m.name),
  }));
  meter.addBatchObservableCallback(
    (result) => {
      for (const { instrument, observations: list } of instruments) {
        for (const o of list) result.observe(instrument, o.value, o.labels);
      }
    },
    instruments.map((i) => i.instrument),
  );
  const { resourceMetrics, errors } = await reader.collect();
  if (errors.length > 0) throw new HeartbeatError(EXIT.failure, `collecting metrics failed: ${String(errors[0])}`);
  const seconds = Math.floor(run.collectedAt);
  const time: [number, number] = [seconds, Math.round((run.collectedAt - seconds) * 1e9)];
  return {
    ...resourceMetrics,
    scopeMetrics: resourceMetrics.scopeMetrics.map((scope) => ({
      ...scope,
      metrics: scope.metrics.map(
        (metric) =>
          ({
            ...metric,
            dataPoints: metric.dataPoints.map((point) => ({ ...point, startTime: time, endTime: time })),
          }) as typeof metric,
      ),
    })),
  };
}

/** Several runs as one request: the same metric may appear once per run, each with its own time. */
export async function toBatch(runs: readonly Run[]): Promise<ResourceMetrics> {
  const parts = await Promise.all(runs.map(toResourceMetrics));
  const [first] = parts;
  if (!first) throw new Error('toBatch: no runs');
  return {
    resource: first.resource,
    scopeMetrics: [
      {
        scope: first.scopeMetrics[0]?.scope ?? { name: 'systemd-heartbeat' },
        metrics: parts.flatMap((p) => p.scopeMetrics.flatMap((s) => s.metrics)),
      },
    ],
  };
}

/** ExportResultCode.SUCCESS, without importing @opentelemetry/core for one constant. */
const SUCCESS = 0;

/** One OTLP request carrying the runs, oldest first; throws a PushError when it is not accepted in time. */
export async function pushRuns(runs: readonly Run[], options: PushOptions): Promise<void> {
  const resourceMetrics = await toBatch(runs);
  const timeoutMs = Math.max(1, Math.round(options.timeoutMs));
  // The exporter's own timeout and the lookup's end a little earlier, so that their more
  // precise messages (Request timed out, DNS: no address) come first when they apply.
  const innerMs = Math.max(1, timeoutMs - Math.min(100, timeoutMs / 10));
  // Our own agent, so the request can be ended: the exporter's timeout is an idle timer (a
  // receiver dribbling a header line every 0.5 s never trips it), so at the deadline the
  // agent's sockets are destroyed and the push fails like a timeout. keepAlive as the SDK's
  // default; lookup: a DNS server that never answers must not hold the run.
  const agentOptions = { keepAlive: true, lookup: boundedLookup(innerMs) as never };
  const agent = options.endpoint.startsWith('https:')
    ? new (await import('node:https')).Agent(agentOptions)
    : new (await import('node:http')).Agent(agentOptions);
  const exporter = new OTLPMetricExporter({
    url: options.endpoint,
    headers: { ...options.headers },
    timeoutMillis: innerMs,
    httpAgentOptions: () => agent,
  });
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([
    new Promise<{ code: number; error?: Error }>((resolve) => exporter.export(resourceMetrics, resolve)),
    new Promise<{ code: number; error?: Error }>((resolve) => {
      timer = setTimeout(
        () =>
          resolve({ code: -1, error: new Error(`timed out: no whole answer within ${timeoutMs} ms (the receiver answers too slowly)`) }),
        timeoutMs,
      );
    }),
  ]);
  clearTimeout(timer);
  agent.destroy();
  if (result.code !== SUCCESS) {
    const status = httpStatus(result.error);
    const reason = maskSecrets(printable(describePushError(result.error)), secretsOf(options.headers));
    throw new PushError(`push to ${redactUrl(options.endpoint)} failed: ${reason}${hintFor(status, reason)}`, status);
  }
}

/**
 * What to check, for the answers that mean the push is misaddressed or unauthorised (no retry
 * helps, and the spool keeps every run until it is fixed).
 */
export function hintFor(status: number | undefined, reason: string): string {
  if (/unsupported path requested/.test(reason)) {
    return ` (VictoriaMetrics takes OTLP at ${VM_OTLP_PATH}: set OTEL_EXPORTER_OTLP_METRICS_ENDPOINT or --endpoint to its bare host or to http://HOST:8428${VM_OTLP_PATH})`;
  }
  if (status === 401 || status === 403) {
    return ` (check the token: the ${TOKEN_CREDENTIAL} credential, or the Authorization header in OTEL_EXPORTER_OTLP_HEADERS or the config file)`;
  }
  if (status === 404 || status === 405) return ` (check the endpoint path: VictoriaMetrics takes OTLP at ${VM_OTLP_PATH})`;
  return '';
}

/** A refused or failed push; `status` is the HTTP status when the receiver answered one. */
export class PushError extends HeartbeatError {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(EXIT.failure, message);
  }
}

function httpStatus(error: Error | undefined): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** One line: the HTTP status and the start of the receiver's answer, or the network error. */
function describePushError(error: Error | undefined): string {
  if (!error) return 'export failed';
  const status = httpStatus(error);
  const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();
  if (status !== undefined) {
    const body = oneLine(String((error as { data?: unknown }).data ?? '')).slice(0, 200);
    return `HTTP ${status}${error.message ? ` ${oneLine(error.message)}` : ''}${body ? `: ${body}` : ''}`;
  }
  const code = (error as NodeJS.ErrnoException).code;
  if (error.message === 'Export failed with retryable status') {
    // The SDK drops the status of 429/502/503/504 answers after retrying them.
    return 'the receiver kept answering a retryable status (429, 502, 503 or 504)';
  }
  return `${code && !error.message.includes(code) ? `${code} ` : ''}${oneLine(error.message) || 'export failed'}`;
}
