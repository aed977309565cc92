/**
 * Pure: what install can tell about the configuration the service will run with, before it
 * runs: the environment file the unit reads (EnvironmentFile=) and the config file, resolved by
 * the exporter's own rules. Warnings, not failures: the operator may write them next.
 */
import { DEFAULT_ENDPOINT, resolveConfig } from '../config.ts';
import { DEFAULT_PERIOD_SECONDS } from '../defaults.ts';
import { describeError } from '../errors.ts';
import { formatDuration } from '../duration.ts';

/**
 * systemd's EnvironmentFile= lines as the unit reads them: `KEY=VALUE`, `#`/`;` comments, a
 * value in single or double quotes unquoted. (The escapes and line continuations systemd also
 * knows are not needed to tell whether a key is set.)
 */
export function parseEnvironmentFile(text: string): Record<string, string> {
  const env: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]) value = value.slice(1, -1);
    env[key] = value;
  }
  return env;
}

export interface ServiceConfigInput {
  /** Where the unit's EnvironmentFile= points, and its text (undefined: absent). */
  readonly environmentFile: string;
  readonly environmentText: string | undefined;
  /** --config given to install, if any. */
  readonly configPath: string | undefined;
  readonly readFile: (path: string) => string | undefined;
  readonly intervalSeconds: number;
  /** Whether a token file for the push exists (the credential the unit loads). */
  readonly tokenPresent?: boolean;
}

/** Loopback: where plain http cannot be read by anyone else. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
}

/** Lines to warn with; empty when the service will watch something and push somewhere. */
export function serviceConfigWarnings(input: ServiceConfigInput): string[] {
  const env = parseEnvironmentFile(input.environmentText ?? '');
  const warnings: string[] = [];
  const where = `${input.environmentFile}${input.environmentText === undefined ? ' (not there yet)' : ''}`;
  try {
    const config = resolveConfig({
      flags: input.configPath === undefined ? {} : { config: input.configPath },
      env,
      hostname: () => 'localhost',
      readFile: input.readFile,
    });
    if (config.units.length === 0) {
      warnings.push(
        `the allowlist is empty: the service will push only failed units and its heartbeat; set SYSTEMD_HEARTBEAT_UNITS in ${where} (e.g. k3s,game-*.service)`,
      );
    }
    if (config.endpoint === DEFAULT_ENDPOINT) {
      warnings.push(
        `no endpoint configured: the service will push to ${DEFAULT_ENDPOINT}; set OTEL_EXPORTER_OTLP_METRICS_ENDPOINT in ${where} unless VictoriaMetrics runs on this host`,
      );
    }
    const url = new URL(config.endpoint);
    const sendsToken = input.tokenPresent === true || Object.keys(config.headers).some((h) => h.toLowerCase() === 'authorization');
    if (url.protocol === 'http:' && sendsToken && !isLoopback(url.hostname)) {
      warnings.push(
        `the push sends its token in clear text to ${url.host} (http://): anyone on the path can read it; use https:// (vmauth or a proxy with TLS in front of VictoriaMetrics)`,
      );
    }
  } catch (error) {
    warnings.push(`the service's configuration will be refused: ${describeError(error)}`);
  }
  if (input.intervalSeconds !== DEFAULT_PERIOD_SECONDS) {
    const every = formatDuration(input.intervalSeconds);
    warnings.push(
      `--interval ${every}: the alert rules (SystemdHeartbeatAbsent, FRESHNESS) and summary assume ${DEFAULT_PERIOD_SECONDS}s; render the rules with ` +
        `scripts/render-alert-rules.ts --set HEARTBEAT_ABSENT_SECONDS=${3 * input.intervalSeconds} --set FRESHNESS=${3 * input.intervalSeconds}s and run summary --interval ${every}`,
    );
  }
  return warnings;
}
