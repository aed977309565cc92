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

/** One OTLP request carrying the runs, oldest first; throws a HeartbeatError when it is not accepted. */
export async function pushRuns(runs: readonly Run[], options: PushOptions): Promise<void> {
  const resourceMetrics = await toBatch(runs);
  const exporter = new OTLPMetricExporter({
    url: options.endpoint,
    headers: { ...options.headers },
    timeoutMillis: Math.max(1, Math.round(options.timeoutMs)),
    // keepAlive as the SDK's default; lookup: a DNS server that never answers must not hold the run.
    httpAgentOptions: { keepAlive: true, lookup: boundedLookup(options.timeoutMs) as never },
  });
  const result = await new Promise<{ code: number; error?: Error }>((resolve) => exporter.export(resourceMetrics, resolve));
  if (result.code !== SUCCESS) {
    throw new PushError(`push to ${redactUrl(options.endpoint)} failed: ${describePushError(result.error)}`, httpStatus(result.error));
  }
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
