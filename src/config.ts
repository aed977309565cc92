/**
 * Configuration: defaults < config file < environment < flags. Pure apart from the injected
 * file reader; every error names the field and exits with EXIT.usage.
 */
import { DEFAULT_FULL_SHOW_SECONDS, TOKEN_CREDENTIAL, VM_OTLP_PATH } from './defaults.ts';
import { parseDuration } from './duration.ts';
import { usageError } from './errors.ts';
import { DEFAULT_SPOOL_LIMITS } from './export/spool.ts';
import type { Scope } from './systemd/systemctl.ts';
import { parseHttpUrl } from './url.ts';

export interface Config {
  /** Unit names and globs (`k3s.service`, `game-*.service`). */
  readonly units: readonly string[];
  readonly scope: Scope;
  readonly host: string;
  readonly endpoint: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Bound on a whole run: systemctl calls and the push share it. */
  readonly timeoutMs: number;
  /** The config file that was read, if any. */
  readonly configPath: string | undefined;
  /** Where the spool of unsent runs and the remembered unit state live. */
  readonly stateDir: string;
  /** Bounds of the spool: runs older than this, or beyond this many bytes (oldest first), are dropped. */
  readonly spoolMaxAgeSeconds: number;
  readonly spoolMaxBytes: number;
  /** Every unit is shown at least this often (seconds); 0: every tick. */
  readonly fullShowSeconds: number;
}

/** What the command line said; undefined = not given. */
export interface FlagValues {
  readonly config?: string;
  readonly units?: readonly string[];
  readonly scope?: Scope;
  readonly host?: string;
  readonly endpoint?: string;
  readonly headers?: readonly string[];
  readonly timeout?: string;
  readonly stateDir?: string;
}

export const DEFAULT_CONFIG_PATH = '/etc/systemd-heartbeat/config.json';
export const DEFAULT_ENDPOINT = 'http://127.0.0.1:8428/opentelemetry/v1/metrics';
export const DEFAULT_TIMEOUT_MS = 5000;

/** Every file key, its type and meaning; README's configuration table follows this. */
const FILE_KEYS = {
  units: 'array of unit names or globs',
  scope: '"system" or "user"',
  host: 'string',
  endpoint: 'http(s) URL',
  headers: 'object of string values',
  timeoutSeconds: 'number of seconds',
  stateDir: 'absolute path',
  spoolMaxAgeSeconds: 'positive number of seconds',
  spoolMaxBytes: 'positive number of bytes',
  fullShowSeconds: 'number of seconds, 0 or more',
} as const;

export interface ConfigSources {
  readonly flags: FlagValues;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The host label's default; asked only when no layer names the host. */
  readonly hostname: () => string;
  /** Returns the file's text, or undefined when it does not exist; throws on other errors. */
  readonly readFile: (path: string) => string | undefined;
}

/** What one source (file, environment, credentials, flags) sets; undefined = not set there. */
interface Layer {
  units?: readonly string[];
  scope?: Scope;
  host?: string;
  endpoint?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
  stateDir?: string;
  spoolMaxAgeSeconds?: number;
  spoolMaxBytes?: number;
  fullShowSeconds?: number;
}

function positive(value: unknown, field: string, what: string): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) {
    throw usageError(`${field}: ${JSON.stringify(value)} must be a ${what}`);
  }
  return n;
}

/** A number of seconds, 0 allowed (at most a day: a longer bound is no bound). */
function seconds(value: unknown, field: string, what: string): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > 86_400) {
    throw usageError(`${field}: ${JSON.stringify(value)} must be a ${what} (at most 86400)`);
  }
  return n;
}

/**
 * A unit name or glob as systemd spells unit names (letters, digits, `:-_.\\@`, escapes like
 * `\\x2d`) plus the glob characters `*?[]`. Whitespace, control characters and anything else are
 * refused; `--` before the names keeps a leading dash safe.
 */
const UNIT_CHARS = /^[A-Za-z0-9:_.\\@*?[\]-]+$/;
const UNIT_TYPED = /\.(service|socket|target|device|mount|automount|swap|timer|path|slice|scope|\*)$/;
const GLOB_CHARS = /[*?[]/;

/**
 * A name as systemctl takes it: a plain name without a unit type is a service (`k3s` is
 * k3s.service: unit_name_mangle_with_suffix() in systemd 252, which also leaves a glob without a
 * type alone, so `game-*` matches every type). The problem with it otherwise, in words.
 */
export function resolveUnitName(name: string): { readonly unit: string } | { readonly problem: string } {
  if (name === '') return { problem: 'is empty' };
  if (!UNIT_CHARS.test(name)) {
    const bad = [...name].find((c) => !UNIT_CHARS.test(c)) ?? '';
    if (/\s/.test(bad) && bad !== '\n' && bad !== '\r' && bad !== '\t') {
      const parts = name.split(/\s+/).filter((p) => p !== '');
      const hint =
        parts.length > 1 && parts.every((p) => UNIT_CHARS.test(p)) ? `; several units are separated by commas: ${parts.join(',')}` : '';
      return { problem: `contains a space${hint}` };
    }
    // biome-ignore lint/suspicious/noControlCharactersInRegex: naming them is the point
    if (/[\u0000-\u001f\u007f]/.test(bad)) return { problem: 'contains a control character' };
    return {
      problem: `contains ${JSON.stringify(bad)}, which systemd does not allow in a unit name (systemd-escape makes a name of any text)`,
    };
  }
  const unit = UNIT_TYPED.test(name) || GLOB_CHARS.test(name) ? name : `${name}.service`;
  if (unit.length > 255) return { problem: 'is longer than 255 characters' };
  return { unit };
}

/** Every name resolved, or one usage error that names every bad one at once. */
export function resolveUnitNames(names: readonly string[], field: string): string[] {
  const resolved = names.map((name) => ({ name, ...resolveUnitName(name) }));
  const bad = resolved.filter((r): r is { name: string; problem: string } => 'problem' in r);
  if (bad.length === 1) {
    const [{ name, problem }] = bad as [{ name: string; problem: string }];
    throw usageError(
      `${field}: ${JSON.stringify(name)} is not a unit name or glob: it ${problem} (expected e.g. k3s, k3s.service or game-*.service)`,
    );
  }
  if (bad.length > 1) {
    const each = bad.map((b) => `${JSON.stringify(b.name)} ${b.problem}`).join('; ');
    throw usageError(
      `${field}: ${bad.length} names are not unit names or globs: ${each} (expected e.g. k3s, k3s.service or game-*.service)`,
    );
  }
  return resolved.map((r) => (r as { unit: string }).unit);
}

/**
 * The metrics endpoint a URL names. A bare host (`http://vm:8428`, no path or `/`) means
 * VictoriaMetrics' OTLP path, the receiver this tool is for; a URL with a path is used as is.
 */
export function validateEndpoint(url: string, field: string): string {
  const parsed = parseHttpUrl(url, field, DEFAULT_ENDPOINT);
  if (parsed.pathname !== '/' || parsed.search !== '' || parsed.hash !== '') return url;
  return `${url.replace(/\/+$/, '')}${VM_OTLP_PATH}`;
}

/**
 * OTEL_EXPORTER_OTLP_ENDPOINT is a base URL: `/v1/metrics` is appended (the OTel spec), so
 * VictoriaMetrics' base is http://HOST:8428/opentelemetry. A bare host means VictoriaMetrics here
 * too, so that the usual `http://vm:8428` works instead of failing at every push.
 */
export function endpointFromBase(base: string, field: string): string {
  const parsed = parseHttpUrl(base, field, 'http://127.0.0.1:8428/opentelemetry');
  if (parsed.pathname === '/' && parsed.search === '' && parsed.hash === '') return `${base.replace(/\/+$/, '')}${VM_OTLP_PATH}`;
  return `${base.replace(/\/+$/, '')}/v1/metrics`;
}

function parseScope(value: string, field: string): Scope {
  if (value === 'system' || value === 'user') return value;
  throw usageError(`${field}: ${JSON.stringify(value)} must be "system" or "user"`);
}

/** The run's bound, in milliseconds: with its 500 ms guard, inside the unit's TimeoutStartSec=15s (install/units.ts). */
export const TIMEOUT_BOUNDS = { minMs: 100, maxMs: 14_000 } as const;

/** "5", "5s", "2500ms" -> milliseconds (a bare number is seconds, or `bare`). */
export function parseTimeout(value: string, field: string, bare: 's' | 'ms' = 's'): number {
  return parseDuration(value, { field, ...TIMEOUT_BOUNDS, bare });
}

/** The state directory by default: systemd's StateDirectory= for the unit, XDG for a user. */
export function defaultStateDir(scope: Scope, env: ConfigSources['env']): string {
  if (scope === 'system') return '/var/lib/systemd-heartbeat';
  const base = env.XDG_STATE_HOME || `${env.HOME || '/root'}/.local/state`;
  return `${base}/systemd-heartbeat`;
}

function validateStateDir(value: string, field: string): string {
  if (!value.startsWith('/') || value.includes('\0')) {
    throw usageError(`${field}: ${JSON.stringify(value)} must be an absolute path`);
  }
  return value.replace(/\/+$/, '') || '/';
}

function splitList(value: string): string[] {
  return value.split(/[\s,]+/).filter((s) => s !== '');
}

/** OTEL_EXPORTER_OTLP_HEADERS format: `k1=v1,k2=v2`, values percent-encoded. */
export function parseHeaderList(value: string, field: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const part of value.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw usageError(`${field}: expected key=value pairs separated by commas`);
    const key = part.slice(0, eq).trim();
    let val: string;
    try {
      val = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      throw usageError(`${field}: the value of header ${key} is not valid percent-encoding`);
    }
    validateHeaderName(key, field);
    headers[key] = val;
  }
  return headers;
}

function validateHeaderName(key: string, field: string): void {
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key)) throw usageError(`${field}: ${JSON.stringify(key)} is not a header name`);
}

function fromFile(text: string, path: string): Layer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw usageError(`config ${path}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw usageError(`config ${path}: expected a JSON object with keys ${Object.keys(FILE_KEYS).join(', ')}`);
  }
  const out: Layer = {};
  for (const [key, value] of Object.entries(parsed)) {
    const field = `config ${path}: "${key}"`;
    switch (key) {
      case 'units':
        if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
          throw usageError(`${field} must be an ${FILE_KEYS.units}`);
        }
        out.units = resolveUnitNames(value as string[], field);
        break;
      case 'scope':
        if (typeof value !== 'string') throw usageError(`${field} must be ${FILE_KEYS.scope}`);
        out.scope = parseScope(value, field);
        break;
      case 'host':
        if (typeof value !== 'string' || value === '') throw usageError(`${field} must be a non-empty string`);
        out.host = value;
        break;
      case 'endpoint':
        if (typeof value !== 'string') throw usageError(`${field} must be an ${FILE_KEYS.endpoint}`);
        out.endpoint = validateEndpoint(value, field);
        break;
      case 'headers': {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) {
          throw usageError(`${field} must be an ${FILE_KEYS.headers}`);
        }
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(value)) {
          if (typeof v !== 'string') throw usageError(`${field}.${k} must be a string`);
          validateHeaderName(k, field);
          headers[k] = v;
        }
        out.headers = headers;
        break;
      }
      case 'timeoutSeconds':
        if (typeof value !== 'number') throw usageError(`${field} must be a ${FILE_KEYS.timeoutSeconds}`);
        out.timeoutMs = parseTimeout(String(value), field, 's');
        break;
      case 'spoolMaxAgeSeconds':
      case 'spoolMaxBytes':
        out[key] = positive(value, field, FILE_KEYS[key]);
        break;
      case 'fullShowSeconds':
        if (typeof value !== 'number') throw usageError(`${field} must be a ${FILE_KEYS.fullShowSeconds}`);
        out.fullShowSeconds = seconds(value, field, FILE_KEYS.fullShowSeconds);
        break;
      case 'stateDir':
        if (typeof value !== 'string') throw usageError(`${field} must be an ${FILE_KEYS.stateDir}`);
        out.stateDir = validateStateDir(value, field);
        break;
      default:
        throw usageError(`config ${path}: unknown key "${key}" (known: ${Object.keys(FILE_KEYS).join(', ')})`);
    }
  }
  return out;
}

function fromEnv(env: ConfigSources['env']): Layer {
  const out: Layer = {};
  const units = env.SYSTEMD_HEARTBEAT_UNITS;
  if (units !== undefined && units.trim() !== '') {
    out.units = resolveUnitNames(splitList(units), 'SYSTEMD_HEARTBEAT_UNITS');
  }
  if (env.SYSTEMD_HEARTBEAT_SCOPE) out.scope = parseScope(env.SYSTEMD_HEARTBEAT_SCOPE, 'SYSTEMD_HEARTBEAT_SCOPE');
  if (env.SYSTEMD_HEARTBEAT_HOST) out.host = env.SYSTEMD_HEARTBEAT_HOST;
  // The OTel spec: the signal-specific variable is used as is; the generic one is a base URL.
  if (env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT) {
    out.endpoint = validateEndpoint(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT');
  } else if (env.OTEL_EXPORTER_OTLP_ENDPOINT) {
    out.endpoint = endpointFromBase(env.OTEL_EXPORTER_OTLP_ENDPOINT, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  }
  const headers = {
    ...parseHeaderList(env.OTEL_EXPORTER_OTLP_HEADERS ?? '', 'OTEL_EXPORTER_OTLP_HEADERS'),
    ...parseHeaderList(env.OTEL_EXPORTER_OTLP_METRICS_HEADERS ?? '', 'OTEL_EXPORTER_OTLP_METRICS_HEADERS'),
  };
  if (Object.keys(headers).length > 0) out.headers = headers;
  // systemd's StateDirectory= sets STATE_DIRECTORY (a colon-separated list: the first is ours).
  const systemdState = env.STATE_DIRECTORY?.split(':')[0];
  if (env.SYSTEMD_HEARTBEAT_STATE_DIR) {
    out.stateDir = validateStateDir(env.SYSTEMD_HEARTBEAT_STATE_DIR, 'SYSTEMD_HEARTBEAT_STATE_DIR');
  } else if (systemdState) {
    out.stateDir = validateStateDir(systemdState, 'STATE_DIRECTORY');
  }
  if (env.SYSTEMD_HEARTBEAT_SPOOL_MAX_AGE_SECONDS) {
    out.spoolMaxAgeSeconds = positive(
      env.SYSTEMD_HEARTBEAT_SPOOL_MAX_AGE_SECONDS,
      'SYSTEMD_HEARTBEAT_SPOOL_MAX_AGE_SECONDS',
      FILE_KEYS.spoolMaxAgeSeconds,
    );
  }
  if (env.SYSTEMD_HEARTBEAT_SPOOL_MAX_BYTES) {
    out.spoolMaxBytes = positive(env.SYSTEMD_HEARTBEAT_SPOOL_MAX_BYTES, 'SYSTEMD_HEARTBEAT_SPOOL_MAX_BYTES', FILE_KEYS.spoolMaxBytes);
  }
  if (env.SYSTEMD_HEARTBEAT_FULL_SHOW_SECONDS) {
    out.fullShowSeconds = seconds(
      env.SYSTEMD_HEARTBEAT_FULL_SHOW_SECONDS,
      'SYSTEMD_HEARTBEAT_FULL_SHOW_SECONDS',
      FILE_KEYS.fullShowSeconds,
    );
  }
  if (env.OTEL_EXPORTER_OTLP_METRICS_TIMEOUT) {
    out.timeoutMs = parseTimeout(env.OTEL_EXPORTER_OTLP_METRICS_TIMEOUT, 'OTEL_EXPORTER_OTLP_METRICS_TIMEOUT', 'ms');
  } else if (env.OTEL_EXPORTER_OTLP_TIMEOUT) {
    out.timeoutMs = parseTimeout(env.OTEL_EXPORTER_OTLP_TIMEOUT, 'OTEL_EXPORTER_OTLP_TIMEOUT', 'ms');
  }
  return out;
}

function fromFlags(flags: FlagValues): Layer {
  const out: Layer = {};
  if (flags.units) {
    // Comma-separated (a space inside a name is a mistake to name, not a separator).
    const names = flags.units.flatMap((u) => u.split(',').map((s) => s.trim()));
    if (names.every((u) => u === '')) throw usageError('--unit: an empty value is not a unit name or glob (expected e.g. k3s.service)');
    out.units = resolveUnitNames(
      names.filter((u) => u !== ''),
      '--unit',
    );
  }
  if (flags.scope) out.scope = flags.scope;
  if (flags.host !== undefined) {
    if (flags.host === '') throw usageError('--host must not be empty');
    out.host = flags.host;
  }
  if (flags.endpoint !== undefined) out.endpoint = validateEndpoint(flags.endpoint, '--endpoint');
  if (flags.headers) {
    out.headers = Object.assign({}, ...flags.headers.map((h) => parseHeaderList(h, '--header')));
  }
  if (flags.timeout !== undefined) out.timeoutMs = parseTimeout(flags.timeout, '--timeout', 's');
  if (flags.stateDir !== undefined) out.stateDir = validateStateDir(flags.stateDir, '--state-dir');
  return out;
}

/** A bearer token from systemd credentials ($CREDENTIALS_DIRECTORY/otlp-token), never logged. */
function fromCredentials(sources: ConfigSources): Layer {
  const dir = sources.env.CREDENTIALS_DIRECTORY;
  if (!dir) return {};
  const token = sources.readFile(`${dir}/${TOKEN_CREDENTIAL}`)?.trim();
  return token ? { headers: { Authorization: `Bearer ${token}` } } : {};
}

export function resolveConfig(sources: ConfigSources): Config {
  const explicitPath = sources.flags.config ?? sources.env.SYSTEMD_HEARTBEAT_CONFIG;
  const path = explicitPath ?? DEFAULT_CONFIG_PATH;
  const text = sources.readFile(path);
  if (text === undefined && explicitPath !== undefined) {
    throw usageError(`config ${path}: no such file (given by ${sources.flags.config ? '--config' : 'SYSTEMD_HEARTBEAT_CONFIG'})`);
  }
  const layers: Layer[] = [
    text === undefined ? {} : fromFile(text, path),
    fromEnv(sources.env),
    fromCredentials(sources),
    fromFlags(sources.flags),
  ];
  let units: readonly string[] = [];
  let scope: Scope = 'system';
  let host: string | undefined;
  let endpoint = DEFAULT_ENDPOINT;
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  const headers: Record<string, string> = {};
  let stateDir: string | undefined;
  let spoolMaxAgeSeconds = DEFAULT_SPOOL_LIMITS.maxAgeSeconds;
  let spoolMaxBytes = DEFAULT_SPOOL_LIMITS.maxBytes;
  let fullShowSeconds = DEFAULT_FULL_SHOW_SECONDS;
  for (const layer of layers) {
    fullShowSeconds = layer.fullShowSeconds ?? fullShowSeconds;
    spoolMaxAgeSeconds = layer.spoolMaxAgeSeconds ?? spoolMaxAgeSeconds;
    spoolMaxBytes = layer.spoolMaxBytes ?? spoolMaxBytes;
    stateDir = layer.stateDir ?? stateDir;
    units = layer.units ?? units;
    scope = layer.scope ?? scope;
    host = layer.host ?? host;
    endpoint = layer.endpoint ?? endpoint;
    timeoutMs = layer.timeoutMs ?? timeoutMs;
    Object.assign(headers, layer.headers);
  }
  checkHeaders(headers);
  return {
    units: [...new Set(units)],
    scope,
    host: host ?? sources.hostname(),
    endpoint,
    headers,
    timeoutMs,
    configPath: text === undefined ? undefined : path,
    stateDir: stateDir ?? defaultStateDir(scope, sources.env),
    spoolMaxAgeSeconds,
    spoolMaxBytes,
    fullShowSeconds,
  };
}

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Refused at configuration time (exit 2), not at every push: a header Node would not send (a
 * CR/LF in a token file, a name with a space). The value is never printed: it is a secret.
 */
function checkHeaders(headers: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name)) throw usageError(`header name ${JSON.stringify(name)} is not a valid HTTP header name`);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) {
      throw usageError(`the value of header ${name} holds a control character (a line break in the token file?); nothing was sent`);
    }
  }
}
