/**
 * Edge: one collect and one OTLP/HTTP protobuf export with the OTel SDK, result checked.
 * No PeriodicExportingMetricReader: it logs failed exports and moves on, and its
 * forceFlush + shutdown would push twice.
 */
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { emptyResource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  MeterProvider,
  MetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { redactUrl } from '../config.ts';
import { EXIT, HeartbeatError } from '../errors.ts';
import { METRICS } from '../metrics/definitions.ts';
import type { Observation } from '../metrics/observe.ts';

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

/** The observations as OTLP ResourceMetrics, stamped with the collection time. */
export async function toResourceMetrics(observations: readonly Observation[]): Promise<ResourceMetrics> {
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
  return resourceMetrics;
}

/** ExportResultCode.SUCCESS, without importing @opentelemetry/core for one constant. */
const SUCCESS = 0;

export async function pushOnce(observations: readonly Observation[], options: PushOptions): Promise<void> {
  const resourceMetrics = await toResourceMetrics(observations);
  const exporter = new OTLPMetricExporter({
    url: options.endpoint,
    headers: { ...options.headers },
    timeoutMillis: Math.max(1, Math.round(options.timeoutMs)),
  });
  const result = await new Promise<{ code: number; error?: Error }>((resolve) => exporter.export(resourceMetrics, resolve));
  if (result.code !== SUCCESS) {
    const reason = result.error?.message?.replace(/\s+/g, ' ').trim() || 'export failed';
    throw new HeartbeatError(EXIT.failure, `push to ${redactUrl(options.endpoint)} failed: ${reason}`);
  }
}
