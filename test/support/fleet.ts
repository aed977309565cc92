/**
 * A fleet's day for `summary` (issue 22), backfilled into a real VictoriaMetrics through
 * /api/v1/import (JSON lines, one per series): HOSTS hosts pushing a heartbeat every 30 s for
 * 24 h, of which FAILING have a unit failed for the last 2 h and SILENT were silent for 40 min
 * in the middle of the day. Used by test/summary-fleet.test.ts and scripts/bench/summary-fleet.ts.
 */
import type { Victoria } from './victoria.ts';

export const FLEET = { hosts: 1000, failing: 20, silent: 10 } as const;
/** The window's end (a whole hour, so steps line up), 24 h of history before it. */
export function fleetEnd(): number {
  return Math.floor(Date.now() / 1000 / 3600) * 3600;
}

export const hostName = (i: number): string => `fleet-${String(i).padStart(4, '0')}`;
/** Hosts 0..failing-1 have bad.service failed; the next `silent` ones have a gap. */
export const isFailing = (i: number): boolean => i < FLEET.failing;
export const isSilent = (i: number): boolean => i >= FLEET.failing && i < FLEET.failing + FLEET.silent;

interface ImportSeries {
  readonly metric: Record<string, string>;
  readonly values: number[];
  readonly timestamps: number[];
}

function seriesOf(name: string, labels: Record<string, string>, times: readonly number[], value: (t: number) => number): ImportSeries {
  return { metric: { __name__: name, ...labels }, values: times.map(value), timestamps: times.map((t) => t * 1000) };
}

/** Imports the day, 50 hosts per request; returns the window's end. */
export async function backfillFleet(vm: Victoria, end: number, hosts: number = FLEET.hosts): Promise<void> {
  const start = end - 86_400;
  const all: number[] = [];
  for (let t = start - 3600; t <= end; t += 30) all.push(t);
  const gapFrom = start + 12 * 3600;
  const gapTo = gapFrom + 40 * 60;
  for (let first = 0; first < hosts; first += 50) {
    const lines: string[] = [];
    for (let i = first; i < Math.min(hosts, first + 50); i++) {
      const host = hostName(i);
      const runs = isSilent(i) ? all.filter((t) => t <= gapFrom || t >= gapTo) : all;
      const last = runs.slice(-20);
      const series = [
        seriesOf('systemd_heartbeat_last_run_timestamp_seconds', { host }, runs, (t) => t),
        seriesOf('systemd_heartbeat_units', { host }, last, () => 3),
        seriesOf('systemd_unit_loaded', { host, unit: 'bad.service', load_state: 'loaded' }, last, () => 1),
      ];
      if (isFailing(i)) {
        const failedSince = end - 2 * 3600;
        const window = all.filter((t) => t >= end - 3 * 3600);
        series.push(
          seriesOf(
            'systemd_unit_failed',
            { host, unit: 'bad.service', result: 'success' },
            window.filter((t) => t < failedSince),
            () => 0,
          ),
        );
        series.push(
          seriesOf(
            'systemd_unit_failed',
            { host, unit: 'bad.service', result: 'exit-code' },
            window.filter((t) => t >= failedSince),
            () => 1,
          ),
        );
        series.push(seriesOf('systemd_unit_last_exit_status', { host, unit: 'bad.service' }, window, (t) => (t >= failedSince ? 1 : 0)));
      }
      for (const s of series) lines.push(JSON.stringify(s));
    }
    const response = await fetch(`${vm.url}/api/v1/import`, { method: 'POST', body: `${lines.join('\n')}\n` });
    if (response.status !== 204) throw new Error(`import: HTTP ${response.status} ${await response.text()}`);
  }
  await vm.flush();
}
