/**
 * For the live alert tests: a real vmalert evaluating, every second, a shortened-window
 * rendering of the shipped rule template, and a readable list of what it has.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderRuleFile } from '../../scripts/render-alert-rules.ts';
import { startVmalert, type Victoria, type Vmalert, type VmalertAlert } from './victoria.ts';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** How often the live tests run the exporter, instead of every 30 s. */
export const RUN_EVERY_MS = 1_500;

/**
 * The rule template's windows shortened for runs every RUN_EVERY_MS. The thresholds that define
 * the alerts (more than 3 restarts, 2x the interval, 3 units) stay.
 */
export const SHORT_WINDOWS: Readonly<Record<string, string>> = {
  RESTART_WINDOW: '30s',
  FAILED_FOR: '5s',
  MISSING_FOR: '5s',
  // hb-tick.timer: interval 2 s, so stale after 2 + max(2, 8) = 10 s without a trigger (its
  // age at collection is ~2 s while it runs)
  STALE_MIN_LATE_SECONDS: '8',
  // Generous against a slow run on a busy machine: a run taking longer must not look absent.
  HEARTBEAT_ABSENT_SECONDS: '20',
  HEARTBEAT_LOOKBACK: '1h',
  FRESHNESS: '20s',
};

export function describeAlerts(alerts: readonly VmalertAlert[]): string {
  return (
    alerts
      .map(
        (a) =>
          `${a.name}[${a.state}]{${Object.entries(a.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(',')}}`,
      )
      .join('\n') || '(none)'
  );
}

/** vmalert on the rules rendered with `tunables`; stop() also removes the rendered file. */
export async function startShortVmalert(vm: Victoria, tunables: Record<string, string>): Promise<Vmalert> {
  const dir = mkdtempSync(join(tmpdir(), 'alerts-live-'));
  try {
    const rules = join(dir, 'systemd-heartbeat.short.rules.yml');
    writeFileSync(rules, renderRuleFile(tunables));
    const vmalert = await startVmalert({ ruleFiles: [rules], datasourceUrl: vm.url, evaluationInterval: '1s' });
    return {
      url: vmalert.url,
      pid: vmalert.pid,
      logPath: vmalert.logPath,
      alerts: () => vmalert.alerts(),
      stop: async () => {
        await vmalert.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
