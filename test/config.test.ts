import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_CONFIG_PATH, DEFAULT_ENDPOINT, resolveConfig, type ConfigSources, type FlagValues } from '../src/config.ts';
import { HeartbeatError } from '../src/errors.ts';
import { parseArgs } from '../src/cli.ts';

function resolve(parts: { flags?: FlagValues; env?: Record<string, string>; files?: Record<string, string> }) {
  const sources: ConfigSources = {
    flags: parts.flags ?? {},
    env: parts.env ?? {},
    hostname: () => 'box',
    readFile: (p) => parts.files?.[p],
  };
  return resolveConfig(sources);
}

function assertUsage(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof HeartbeatError && e.exitCode === 2 && pattern.test(e.message));
}

test('defaults', () => {
  const c = resolve({});
  assert.deepEqual(c, {
    units: [],
    scope: 'system',
    host: 'box',
    endpoint: DEFAULT_ENDPOINT,
    headers: {},
    timeoutMs: 5000,
    configPath: undefined,
    stateDir: '/var/lib/systemd-heartbeat',
    spoolMaxAgeSeconds: 86400,
    spoolMaxBytes: 52428800,
    fullShowSeconds: 300,
  });
});

test('fullShowSeconds: 0 (every tick) to a day, from the file or the environment; anything else refused', () => {
  const file = (v: unknown) => ({ files: { '/etc/systemd-heartbeat/config.json': JSON.stringify({ fullShowSeconds: v }) } });
  assert.equal(resolve(file(0)).fullShowSeconds, 0);
  assert.equal(resolve(file(600)).fullShowSeconds, 600);
  assert.equal(resolve({ ...file(600), env: { SYSTEMD_HEARTBEAT_FULL_SHOW_SECONDS: '0' } }).fullShowSeconds, 0);
  for (const bad of [-1, 86_401, '60', null]) assertUsage(() => resolve(file(bad)), /fullShowSeconds/);
  for (const bad of ['-5', 'soon', '1e9']) {
    assertUsage(() => resolve({ env: { SYSTEMD_HEARTBEAT_FULL_SHOW_SECONDS: bad } }), /SYSTEMD_HEARTBEAT_FULL_SHOW_SECONDS/);
  }
});

test('the hostname is asked for only when no file, variable or flag names the host', () => {
  let asked = 0;
  const sources = (env: Record<string, string>): ConfigSources => ({
    flags: {},
    env,
    hostname: () => {
      asked++;
      return 'box';
    },
    readFile: () => undefined,
  });
  assert.equal(resolveConfig(sources({ SYSTEMD_HEARTBEAT_HOST: 'named' })).host, 'named');
  assert.equal(asked, 0);
  assert.equal(resolveConfig(sources({})).host, 'box');
  assert.equal(asked, 1);
});

test('precedence: defaults < file < env < flags', () => {
  const files = { [DEFAULT_CONFIG_PATH]: JSON.stringify({ units: ['a.service'], host: 'file-host', timeoutSeconds: 3, scope: 'user' }) };
  assert.deepEqual(resolve({ files }).units, ['a.service']);
  assert.equal(resolve({ files }).host, 'file-host');
  assert.equal(resolve({ files }).timeoutMs, 3000);
  assert.equal(resolve({ files }).configPath, DEFAULT_CONFIG_PATH);
  const env = {
    SYSTEMD_HEARTBEAT_UNITS: 'b.service, game-*.service',
    SYSTEMD_HEARTBEAT_HOST: 'env-host',
    OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
  };
  assert.deepEqual(resolve({ files, env }).units, ['b.service', 'game-*.service']);
  assert.equal(resolve({ files, env }).host, 'env-host');
  assert.equal(resolve({ files, env }).timeoutMs, 2000, 'OTEL timeouts are milliseconds');
  assert.equal(resolve({ files, env }).scope, 'user');
  const flags: FlagValues = { units: ['c.service,d.timer'], host: 'flag-host', timeout: '4s', scope: 'system' };
  const c = resolve({ files, env, flags });
  assert.deepEqual(c.units, ['c.service', 'd.timer']);
  assert.equal(c.host, 'flag-host');
  assert.equal(c.timeoutMs, 4000);
  assert.equal(c.scope, 'system');
});

test('endpoints: the signal variable as is, the generic one as a base', () => {
  assert.equal(
    resolve({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://vm:8428/opentelemetry/' } }).endpoint,
    'http://vm:8428/opentelemetry/v1/metrics',
  );
  assert.equal(
    resolve({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a/x', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'https://vm/opentelemetry/v1/metrics' },
    }).endpoint,
    'https://vm/opentelemetry/v1/metrics',
  );
  assert.equal(
    resolve({ flags: { endpoint: 'http://127.0.0.1:9/x' }, env: { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://a/b' } }).endpoint,
    'http://127.0.0.1:9/x',
  );
  assertUsage(() => resolve({ flags: { endpoint: 'vm:8428' } }), /--endpoint: .* must be http/);
  assertUsage(() => resolve({ flags: { endpoint: 'not a url' } }), /--endpoint: "not a url" is not a URL/);
  assertUsage(() => resolve({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://x' } }), /OTEL_EXPORTER_OTLP_ENDPOINT/);
  // A bare host is VictoriaMetrics' OTLP path, in every place an endpoint is given (issue 20.2).
  for (const bare of ['http://vm:8428', 'http://vm:8428/']) {
    assert.equal(resolve({ flags: { endpoint: bare } }).endpoint, 'http://vm:8428/opentelemetry/v1/metrics');
    assert.equal(resolve({ env: { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: bare } }).endpoint, 'http://vm:8428/opentelemetry/v1/metrics');
    assert.equal(resolve({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: bare } }).endpoint, 'http://vm:8428/opentelemetry/v1/metrics');
  }
  assert.equal(resolve({ flags: { endpoint: 'http://vm:4318/v1/metrics' } }).endpoint, 'http://vm:4318/v1/metrics', 'a path is used as is');
  assert.equal(
    resolve({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/otlp' } }).endpoint,
    'http://collector:4318/otlp/v1/metrics',
  );
});

test('headers merge: generic < signal-specific < credential < flags', () => {
  const c = resolve({
    env: { OTEL_EXPORTER_OTLP_HEADERS: 'a=1,b=2', OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'b=3,c=x%20y', CREDENTIALS_DIRECTORY: '/cred' },
    files: { '/cred/otlp-token': 'sekret\n' },
    flags: { headers: ['d=4'] },
  });
  assert.deepEqual(c.headers, { a: '1', b: '3', c: 'x y', Authorization: 'Bearer sekret', d: '4' });
  assertUsage(() => resolve({ flags: { headers: ['novalue'] } }), /--header: expected key=value/);
});

test('config file errors name the field', () => {
  const file = (text: string) => resolve({ flags: { config: '/c.json' }, files: { '/c.json': text } });
  assertUsage(() => file('{units: []}'), /config \/c.json: not valid JSON/);
  assertUsage(() => file('[]'), /expected a JSON object/);
  assertUsage(() => file('{"unit": ["a.service"]}'), /unknown key "unit"/);
  assertUsage(() => file('{"units": "a.service"}'), /"units" must be an array/);
  assertUsage(() => file('{"units": [1]}'), /"units" must be an array/);
  assertUsage(() => file('{"timeoutSeconds": "5"}'), /"timeoutSeconds" must be a number/);
  assertUsage(() => file('{"timeoutSeconds": 60}'), /"timeoutSeconds": "60" must be a duration from 100ms to 14s/);
  assertUsage(() => file('{"scope": "root"}'), /"scope": "root" must be "system" or "user"/);
  assertUsage(() => file('{"headers": {"a": 1}}'), /"headers".a must be a string/);
  assertUsage(() => resolve({ flags: { config: '/missing.json' } }), /no such file \(given by --config\)/);
  assertUsage(() => resolve({ env: { SYSTEMD_HEARTBEAT_CONFIG: '/missing.json' } }), /given by SYSTEMD_HEARTBEAT_CONFIG/);
});

test('unit names: systemd spellings and globs pass, a plain name is a service as systemctl takes it, anything else is refused', () => {
  const ok = [
    'k3s.service',
    'game-*.service',
    'coily-*.timer',
    'hb-inst@a\\x2db.service',
    '-.mount',
    'getty@tty1.service',
    'foo-[ab].socket',
    '*.timer',
  ];
  assert.deepEqual(resolve({ flags: { units: ok } }).units, ok);
  assert.deepEqual(resolve({ flags: { units: ['k3s', 'x.unknowntype', 'game-*'] } }).units, [
    'k3s.service',
    'x.unknowntype.service',
    'game-*',
  ]);
  for (const bad of ['has space.service', 'semi;colon.service', 'new\nline.service', '$(rm).service', `${'a'.repeat(250)}`]) {
    assertUsage(() => resolve({ flags: { units: [bad] } }), /--unit: .* is not a unit name or glob: it /);
  }
  assertUsage(() => resolve({ flags: { units: [''] } }), /--unit: an empty value is not a unit name or glob/);
});

test('argv', () => {
  assert.deepEqual(parseArgs([]), { command: 'run', flags: {}, dryRun: false, format: 'table' });
  const p = parseArgs(['list', '-u', 'a.service', '--unit=b.timer', '--user', '--format', 'json', '--header', 'k=v', '--timeout=3s']);
  assert.equal(p.command, 'list');
  assert.deepEqual(p.flags, { units: ['a.service', 'b.timer'], headers: ['k=v'], scope: 'user', timeout: '3s' });
  assert.equal(p.format, 'json');
  assert.equal(parseArgs(['--dry-run']).dryRun, true);
  assert.equal(parseArgs(['--help']).command, 'help');
  assertUsage(() => parseArgs(['--bogus']), /unknown option --bogus/);
  assertUsage(() => parseArgs(['frobnicate']), /unknown command "frobnicate"/);
  assertUsage(() => parseArgs(['--unit']), /--unit needs a value/);
  assertUsage(() => parseArgs(['--user', '--system']), /exclude each other/);
  assertUsage(() => parseArgs(['--format', 'xml']), /--format: "xml" must be table or json/);
  assertUsage(() => parseArgs(['--dry-run=yes']), /--dry-run takes no value/);
});

test('a header Node would not send is refused at configuration time (exit 2), its value never printed', () => {
  assertUsage(
    () => resolve({ env: { CREDENTIALS_DIRECTORY: '/cred' }, files: { '/cred/otlp-token': 'sekret\nX-Evil: 1\n' } }),
    /^the value of header Authorization holds a control character \(a line break in the token file\?\); nothing was sent$/,
  );
  assertUsage(() => resolve({ flags: { headers: ['X-Tenant=a\rb'] } }), /header X-Tenant holds a control character/);
  assertUsage(() => resolve({ env: { OTEL_EXPORTER_OTLP_HEADERS: 'bad(name)=1' } }), /"bad\(name\)" is not a header name/);
  assert.deepEqual(resolve({ flags: { headers: ['X-Tenant=a\tb'] } }).headers, { 'X-Tenant': 'a\tb' }, 'a tab is allowed in a value');
});

test("--timeout stays inside the unit's TimeoutStartSec=15s", () => {
  assert.equal(resolve({ flags: { timeout: '14s' } }).timeoutMs, 14_000);
  assertUsage(() => resolve({ flags: { timeout: '20s' } }), /--timeout.*from 100ms to 14s/);
});
