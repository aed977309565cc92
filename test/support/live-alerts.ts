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

export function describeAlerts(alerts: readonly VmalertAlert[]): string {
  return alerts.map((a) => `${a.name}[${a.state}]{${Object.entries(a.labels).map(([k, v]) => `${k}=${v}`).join(',')}}`).join('\n') || '(none)';
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
