/**
 * install / uninstall: unit rendering, and both commands run into a temporary root with a
 * recording systemctl (in-process through the injected edge, and once through the built
 * bundle with SYSTEMD_HEARTBEAT_SYSTEMCTL + SYSTEMD_HEARTBEAT_INSTALL_ROOT).
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import type { CommandContext } from '../src/commands/context.ts';
import { installCommand, parseInterval, uninstallCommand } from '../src/install/command.ts';
import { createFsIO, type InstallIO } from '../src/install/effects.ts';
import { CODE_CACHE_NAME, quoteExecArg, renderService, renderTimer } from '../src/install/units.ts';
import { HeartbeatError } from '../src/errors.ts';
import { CLI, runCli } from './support/cli.ts';

const temps: string[] = [];
after(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});
function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}

/** Every file and symlink below `root`, relative, sorted (directories only when empty). */
function listTree(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    const entries = readdirSync(join(root, rel), { withFileTypes: true });
    if (entries.length === 0 && rel !== '') out.push(`${rel}/`);
    for (const e of entries) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk('');
  return out.sort();
}

interface Harness {
  readonly root: string;
  readonly calls: string[][];
  readonly out: () => string;
  readonly logs: string[];
  readonly ctx: CommandContext;
  readonly io: InstallIO;
  readonly bundle: string;
}

/** A temp root, a fake bundle outside it, and a systemctl that records and optionally fails. */
function harness(options: { env?: Record<string, string>; failOn?: (args: readonly string[]) => string | undefined } = {}): Harness {
  const root = tempDir('hb-install-root-');
  const src = tempDir('hb-install-src-');
  const bundle = join(src, 'systemd-heartbeat.cjs');
  writeFileSync(bundle, '#!/usr/bin/env node\n// the bundle\n');
  writeFileSync(join(src, 'systemd-heartbeat.code-cache'), 'the code cache');
  const calls: string[][] = [];
  let stdout = '';
  const logs: string[] = [];
  const record = async (args: readonly string[]): Promise<string> => {
    calls.push([...args]);
    const failure = options.failOn?.(args);
    if (failure) throw new HeartbeatError(1, failure);
    return '';
  };
  // Real files below the temp root; systemctl and the user tools only record.
  const io: InstallIO = {
    ...createFsIO(root, record),
    createUsers: async (conf) => void (await record(['systemd-sysusers', conf])),
    deleteUser: async (name) => void (await record(['userdel', name])),
  };
  const ctx: CommandContext = {
    env: { HOME: '/home/tester', USER: 'tester', ...options.env },
    log: { error: (m) => logs.push(`error: ${m}`), warning: (m) => logs.push(`warning: ${m}`), info: (m) => logs.push(m) },
    stdout: (t) => (stdout += t),
  };
  return { root, calls, out: () => stdout, logs, ctx, io, bundle };
}

const install = (h: Harness, argv: string[], execPath = '/usr/bin/node'): Promise<number> =>
  installCommand(argv, h.ctx, { entry: h.bundle, execPath, cwd: '/srv', io: h.io });
const uninstall = (h: Harness, argv: string[]): Promise<number> => uninstallCommand(argv, h.ctx, { io: h.io });

/** Parses unit-file text into [section, key, value] triples, comments dropped. */
function entries(text: string): [string, string, string][] {
  let section = '';
  const out: [string, string, string][] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const s = /^\[(\w+)\]$/.exec(line);
    if (s) section = s[1] as string;
    else {
      const eq = line.indexOf('=');
      out.push([section, line.slice(0, eq), line.slice(eq + 1)]);
    }
  }
  return out;
}
const values = (text: string, key: string): string[] =>
  entries(text)
    .filter(([, k]) => k === key)
    .map(([, , v]) => v);

test('system service: oneshot, bounded, dynamic user, token and environment optional', () => {
  const text = renderService({
    scope: 'system',
    nodePath: '/opt/node 20/bin/node',
    bundlePath: '/usr/local/lib/systemd-heartbeat/systemd-heartbeat.cjs',
    configPath: '/etc/hb/100%.json',
  });
  assert.deepEqual(values(text, 'Type'), ['oneshot']);
  assert.ok(Number(/^(\d+)s$/.exec(values(text, 'TimeoutStartSec')[0] ?? '')?.[1]) < 30);
  assert.deepEqual(values(text, 'DynamicUser'), ['yes']);
  assert.deepEqual(values(text, 'User'), ['systemd-heartbeat'], 'a static user dbus-daemon can resolve (systemd#22737)');
  assert.deepEqual(values(text, 'EnvironmentFile'), ['-/etc/default/systemd-heartbeat']);
  assert.deepEqual(values(text, 'LoadCredential'), ['otlp-token:systemd-heartbeat.otlp-token'], 'a relative source: missing is skipped');
  assert.deepEqual(values(text, 'StateDirectory'), ['systemd-heartbeat']);
  assert.deepEqual(values(text, 'ExecStart'), [
    '"/opt/node 20/bin/node" /usr/local/lib/systemd-heartbeat/systemd-heartbeat.cjs --config /etc/hb/100%%.json',
  ]);
  assert.doesNotMatch(values(text, 'ExecStart')[0] ?? '', / --[a-z-]+(?= \/usr\/local)/, 'no node or V8 flags before the bundle');
  assert.equal(values(text, 'MemoryDenyWriteExecute').length, 0, "V8's JIT needs it off");
  assert.ok(entries(text).every(([s]) => s === 'Unit' || s === 'Service'));
});

test('user service: its own host label and scope, no system-only sandboxing, token only when present', () => {
  const base = {
    scope: 'user' as const,
    nodePath: '/usr/bin/node',
    bundlePath: '/home/a/.local/lib/systemd-heartbeat/systemd-heartbeat.cjs',
  };
  const text = renderService(base);
  assert.deepEqual(values(text, 'Environment'), ['SYSTEMD_HEARTBEAT_SCOPE=user', 'SYSTEMD_HEARTBEAT_HOST=%H/user-%u']);
  assert.deepEqual(values(text, 'EnvironmentFile'), ['-%E/systemd-heartbeat/environment']);
  for (const key of ['DynamicUser', 'ProtectSystem', 'PrivateTmp', 'StateDirectory', 'LoadCredential'])
    assert.equal(values(text, key).length, 0, key);
  assert.deepEqual(values(renderService({ ...base, userTokenPath: '/home/a/.config/systemd-heartbeat/otlp-token' }), 'LoadCredential'), [
    'otlp-token:/home/a/.config/systemd-heartbeat/otlp-token',
  ]);
});

test('timer: monotonic, never piling up, small accuracy, enabled by timers.target', () => {
  const text = renderTimer({ intervalSeconds: 2 });
  assert.deepEqual(values(text, 'OnUnitActiveSec'), ['2s']);
  assert.deepEqual(values(text, 'OnBootSec'), ['2s']);
  assert.deepEqual(values(text, 'AccuracySec'), ['1s']);
  assert.deepEqual(values(text, 'WantedBy'), ['timers.target']);
  assert.equal(values(text, 'OnCalendar').length, 0);
});

test('intervals and ExecStart quoting', () => {
  assert.equal(parseInterval('30s'), 30);
  assert.equal(parseInterval('2'), 2);
  assert.equal(parseInterval('5min'), 300);
  assert.equal(parseInterval('1h'), 3600);
  for (const bad of ['0s', '1.5s', '500ms', 'often', '25h']) assert.throws(() => parseInterval(bad), /--interval/);
  assert.equal(quoteExecArg('/usr/bin/node'), '/usr/bin/node');
  assert.equal(quoteExecArg('/a b/$HOME'), '"/a b/$$HOME"');
  assert.equal(quoteExecArg('/x"y\\z'), '"/x\\"y\\\\z"');
  assert.throws(() => quoteExecArg('/a\nb'), /control characters/);
});

test('install writes the bundle copy and both units, then daemon-reload and enable --now', async () => {
  const h = harness();
  assert.equal(await install(h, ['--interval', '2s']), 0);
  assert.deepEqual(h.calls, [
    ['systemd-sysusers', '/etc/sysusers.d/systemd-heartbeat.conf'],
    ['daemon-reload'],
    ['enable', '--now', 'systemd-heartbeat.timer'],
  ]);
  assert.deepEqual(listTree(h.root), [
    'etc/systemd/system/systemd-heartbeat.service',
    'etc/systemd/system/systemd-heartbeat.timer',
    'etc/sysusers.d/systemd-heartbeat.conf',
    'usr/local/lib/systemd-heartbeat/systemd-heartbeat.cjs',
    'usr/local/lib/systemd-heartbeat/systemd-heartbeat.code-cache',
  ]);
  for (const name of ['systemd-heartbeat.cjs', 'systemd-heartbeat.code-cache']) {
    assert.equal(
      readFileSync(join(h.root, 'usr/local/lib/systemd-heartbeat', name), 'utf8'),
      readFileSync(join(dirname(h.bundle), name), 'utf8'),
    );
  }
  const service = readFileSync(join(h.root, 'etc/systemd/system/systemd-heartbeat.service'), 'utf8');
  assert.deepEqual(values(service, 'ExecStart'), ['/usr/bin/node /usr/local/lib/systemd-heartbeat/systemd-heartbeat.cjs']);
  assert.deepEqual(values(readFileSync(join(h.root, 'etc/systemd/system/systemd-heartbeat.timer'), 'utf8'), 'OnUnitActiveSec'), ['2s']);
  assert.match(
    readFileSync(join(h.root, 'etc/sysusers.d/systemd-heartbeat.conf'), 'utf8'),
    /^u systemd-heartbeat - "[^"]+" \/ \/usr\/sbin\/nologin$/m,
  );
  assert.equal(statSync(join(h.root, 'etc/systemd/system/systemd-heartbeat.service')).mode & 0o777, 0o644);
  assert.match(h.out(), /enabled and started systemd-heartbeat.timer/);
  assert.doesNotMatch(h.out(), /enable-linger/);
  // Installing again (an upgrade) rewrites in place.
  assert.equal(await install(h, ['--config', 'conf/hb.json']), 0);
  assert.match(readFileSync(join(h.root, 'etc/systemd/system/systemd-heartbeat.service'), 'utf8'), /--config \/srv\/conf\/hb\.json$/m);
  assert.ok(h.logs.some((l) => /\/srv\/conf\/hb\.json does not exist/.test(l)));
});

test('install copies the bundle with its code cache; a build without a cache leaves none behind', async () => {
  const h = harness();
  const lib = join(h.root, 'usr/local/lib/systemd-heartbeat');
  assert.equal(await install(h, []), 0);
  assert.equal(readFileSync(join(lib, 'systemd-heartbeat.code-cache'), 'utf8'), 'the code cache');
  // A build whose node rejected its own cache ships none: the old one must not stay beside the new bundle.
  rmSync(join(dirname(h.bundle), 'systemd-heartbeat.code-cache'));
  writeFileSync(h.bundle, '// the next build\n');
  assert.equal(await install(h, []), 0);
  assert.equal(existsSync(join(lib, 'systemd-heartbeat.code-cache')), false);
  assert.equal(readFileSync(join(lib, 'systemd-heartbeat.cjs'), 'utf8'), '// the next build\n');
});

test('a bundle without a cache but with its maker (the npm tarball): install makes the cache with the node the unit runs', async () => {
  const h = harness();
  const lib = join(h.root, 'usr/local/lib/systemd-heartbeat');
  rmSync(join(dirname(h.bundle), 'systemd-heartbeat.code-cache'));
  // A stand-in maker, run for real: it writes DIR/systemd-heartbeat.code-cache, naming the node that ran it.
  writeFileSync(
    join(dirname(h.bundle), 'make-code-cache.cjs'),
    "require('node:fs').writeFileSync(process.argv[2] + '/systemd-heartbeat.code-cache', 'made by ' + process.version);\n",
  );
  assert.equal(await install(h, [], process.execPath), 0);
  assert.equal(readFileSync(join(lib, 'systemd-heartbeat.code-cache'), 'utf8'), `made by ${process.version}`);
  assert.ok(existsSync(join(lib, 'make-code-cache.cjs')));
  // A maker that fails leaves no cache and only warns: the runs compile the bundle as usual.
  writeFileSync(join(dirname(h.bundle), 'make-code-cache.cjs'), 'process.exit(3);\n');
  assert.equal(await install(h, [], process.execPath), 0);
  assert.equal(existsSync(join(lib, 'systemd-heartbeat.code-cache')), false);
  assert.ok(
    h.logs.some((l) => /^warning: no code cache made/.test(l)),
    h.logs.join('\n'),
  );
  assert.equal(await uninstall(h, []), 0);
  assert.equal(existsSync(lib), false, 'uninstall removes the maker too');
});

test("the Debian package's bundle: install and uninstall refuse, changing nothing (the timer is apt's)", async () => {
  const h = harness();
  const entry = '/usr/lib/systemd-heartbeat/systemd-heartbeat.cjs';
  await assert.rejects(
    installCommand([], h.ctx, { entry, execPath: '/usr/bin/node', cwd: '/', io: h.io }),
    /Debian package's: its timer is already installed/,
  );
  await assert.rejects(uninstallCommand([], h.ctx, { entry, io: h.io }), /apt remove \(or apt purge/);
  assert.deepEqual(h.calls, []);
  assert.deepEqual(readdirSync(h.root), []);
});

test('install refuses paths the system service cannot see', async () => {
  const h = harness();
  await assert.rejects(install(h, ['--config', '/home/me/hb.json']), /ProtectHome/);
  await assert.rejects(install(h, [], '/root/.nvm/versions/node/v20/bin/node'), /install node system-wide .* or use --user/);
  assert.deepEqual(listTree(h.root), [], 'nothing written');
  assert.deepEqual(h.calls, []);
});

test('when systemctl fails the files are still written and the exact commands printed, exit 1', async () => {
  const h = harness({
    failOn: (a) =>
      a[0] === 'daemon-reload' ? 'systemctl daemon-reload exited with 1: System has not been booted with systemd' : undefined,
  });
  assert.equal(await install(h, []), 1);
  assert.equal(listTree(h.root).length, 5);
  assert.match(
    h.out(),
    /not active\. Run:\n {2}systemd-sysusers \/etc\/sysusers\.d\/systemd-heartbeat\.conf\n {2}systemctl daemon-reload\n {2}systemctl enable --now systemd-heartbeat\.timer\n/,
  );
  assert.ok(h.logs.some((l) => /error: failed: .*not been booted/.test(l)));
  assert.deepEqual(h.calls.at(-1), ['daemon-reload'], 'stops at the first failure');
});

test('--user: files under HOME, --user commands, the linger hint; a token file is picked up', async () => {
  const h = harness({
    env: { HOME: '/home/tester', XDG_CONFIG_HOME: '/home/tester/cfg' },
    failOn: () => 'systemctl daemon-reload: systemctl not found on PATH',
  });
  mkdirSync(join(h.root, 'home/tester/cfg/systemd-heartbeat'), { recursive: true });
  writeFileSync(join(h.root, 'home/tester/cfg/systemd-heartbeat/otlp-token'), 'sekret\n');
  assert.equal(await install(h, ['--user']), 1);
  assert.deepEqual(listTree(h.root), [
    'home/tester/.local/lib/systemd-heartbeat/systemd-heartbeat.cjs',
    'home/tester/.local/lib/systemd-heartbeat/systemd-heartbeat.code-cache',
    'home/tester/cfg/systemd-heartbeat/otlp-token',
    'home/tester/cfg/systemd/user/systemd-heartbeat.service',
    'home/tester/cfg/systemd/user/systemd-heartbeat.timer',
  ]);
  const service = readFileSync(join(h.root, 'home/tester/cfg/systemd/user/systemd-heartbeat.service'), 'utf8');
  assert.deepEqual(values(service, 'LoadCredential'), ['otlp-token:/home/tester/cfg/systemd-heartbeat/otlp-token']);
  assert.match(h.out(), / {2}systemctl --user daemon-reload\n {2}systemctl --user enable --now systemd-heartbeat\.timer/);
  assert.match(h.out(), /loginctl enable-linger tester/);
});

test('--dry-run prints the files and commands and writes nothing', async () => {
  const h = harness();
  assert.equal(await install(h, ['--dry-run', '--interval=5min']), 0);
  assert.deepEqual(listTree(h.root), []);
  assert.deepEqual(h.calls, []);
  assert.match(h.out(), /^# \/etc\/systemd\/system\/systemd-heartbeat\.service\n/m);
  assert.match(h.out(), /^OnUnitActiveSec=300s$/m);
  assert.match(h.out(), /^systemctl enable --now systemd-heartbeat\.timer$/m);
  assert.equal(await uninstall(h, ['--dry-run']), 0);
  assert.deepEqual(h.calls, []);
});

test('uninstall reverses install and leaves no file behind, yours excepted', async () => {
  const h = harness();
  mkdirSync(join(h.root, 'etc/default'), { recursive: true });
  writeFileSync(join(h.root, 'etc/default/systemd-heartbeat'), 'SYSTEMD_HEARTBEAT_UNITS=k3s.service\n');
  assert.equal(await install(h, []), 0);
  // What systemd itself adds: the enable symlink and the DynamicUser state directory.
  mkdirSync(join(h.root, 'etc/systemd/system/timers.target.wants'));
  symlinkSync('../systemd-heartbeat.timer', join(h.root, 'etc/systemd/system/timers.target.wants/systemd-heartbeat.timer'));
  mkdirSync(join(h.root, 'var/lib/private/systemd-heartbeat'), { recursive: true });
  writeFileSync(join(h.root, 'var/lib/private/systemd-heartbeat/spool.json'), '[]');
  symlinkSync('private/systemd-heartbeat', join(h.root, 'var/lib/systemd-heartbeat'));
  h.calls.length = 0;
  assert.equal(await uninstall(h, []), 0);
  assert.deepEqual(h.calls, [
    ['disable', '--now', 'systemd-heartbeat.timer'],
    ['stop', 'systemd-heartbeat.service'],
    ['daemon-reload'],
    ['reset-failed', 'systemd-heartbeat.service', 'systemd-heartbeat.timer'],
    ['userdel', 'systemd-heartbeat'],
  ]);
  // Directories that existed before (etc/systemd/system, var/lib/private) may stay, empty.
  assert.deepEqual(listTree(h.root), [
    'etc/default/systemd-heartbeat',
    'etc/systemd/system/',
    'etc/sysusers.d/',
    'usr/local/lib/',
    'var/lib/private/',
  ]);
  assert.match(h.out(), /left in place \(yours\): \/etc\/default\/systemd-heartbeat/);
  // A second uninstall finds nothing and is no error; the user is not deleted twice.
  h.calls.length = 0;
  assert.equal(await uninstall(h, []), 0);
  assert.ok(!h.calls.some((c) => c[0] === 'userdel'));
  assert.match(h.out(), /nothing was installed/);
});

test('uninstall without a working systemctl still removes the files and says what to run', async () => {
  const h = harness({ env: { HOME: '/home/tester' }, failOn: () => 'systemctl disable: systemctl not found on PATH' });
  assert.equal(await install(h, ['--user']), 1);
  assert.equal(await uninstall(h, ['--user']), 1);
  assert.deepEqual(listTree(h.root), ['home/tester/.config/systemd/user/', 'home/tester/.local/lib/']);
  assert.match(h.out(), /to finish, run:\n {2}systemctl --user disable --now systemd-heartbeat\.timer\n/);
});

test('usage errors exit through HeartbeatError', async () => {
  const h = harness();
  await assert.rejects(install(h, ['--user', '--system']), /exclude each other/);
  await assert.rejects(install(h, ['--interval']), /--interval needs a value/);
  await assert.rejects(uninstall(h, ['--interval', '2s']), /unknown option/);
  await assert.rejects(
    installCommand([], h.ctx, { entry: '/work/src/bin.ts', execPath: '/usr/bin/node', cwd: '/', io: h.io }),
    /built bundle/,
  );
});

test('the built bundle installs and uninstalls into a root with a recording systemctl', {
  skip: existsSync(CLI) ? undefined : `${CLI} not built`,
}, async () => {
  const root = tempDir('hb-install-cli-');
  const bin = tempDir('hb-install-bin-');
  const log = join(bin, 'calls.log');
  const systemctl = join(bin, 'systemctl');
  for (const tool of ['systemctl', 'systemd-sysusers', 'userdel', 'groupdel']) {
    writeFileSync(join(bin, tool), `#!/bin/sh\nprintf '%s %s\\n' ${tool} "$*" >> '${log}'\n`);
    chmodSync(join(bin, tool), 0o755);
  }
  const env = {
    SYSTEMD_HEARTBEAT_INSTALL_ROOT: root,
    SYSTEMD_HEARTBEAT_SYSTEMCTL: systemctl,
    PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
  };
  const r = await runCli(['install', '--interval', '2s'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(listTree(root), [
    'etc/systemd/system/systemd-heartbeat.service',
    'etc/systemd/system/systemd-heartbeat.timer',
    'etc/sysusers.d/systemd-heartbeat.conf',
    'usr/local/lib/systemd-heartbeat/systemd-heartbeat.cjs',
    'usr/local/lib/systemd-heartbeat/systemd-heartbeat.code-cache',
  ]);
  // What npm run build wrote is what install copies (the names in install.ts and build.mjs agree).
  for (const name of ['systemd-heartbeat.cjs', CODE_CACHE_NAME]) {
    assert.ok(readFileSync(join(root, 'usr/local/lib/systemd-heartbeat', name)).equals(readFileSync(join(dirname(CLI), name))), name);
  }
  // The installed copy runs on its own.
  const installed = spawnSync(process.execPath, [join(root, 'usr/local/lib/systemd-heartbeat/systemd-heartbeat.cjs'), '--version'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(installed.status, 0, installed.stderr);
  assert.match(installed.stdout, /^systemd-heartbeat \d/);
  assert.match(
    readFileSync(join(root, 'etc/systemd/system/systemd-heartbeat.service'), 'utf8'),
    new RegExp(`^ExecStart=${process.execPath} /usr/local/lib/`, 'm'),
  );
  const u = await runCli(['uninstall'], env);
  assert.equal(u.code, 0, u.stderr);
  assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), [
    `systemd-sysusers --root=${root} ${root}/etc/sysusers.d/systemd-heartbeat.conf`,
    // Below an install root the running manager is never asked (no daemon-reload, --now, stop).
    `systemctl --system --no-pager --root=${root} enable systemd-heartbeat.timer`,
    `systemctl --system --no-pager --root=${root} disable systemd-heartbeat.timer`,
    `userdel --root ${root} systemd-heartbeat`,
    `groupdel --root ${root} systemd-heartbeat`,
  ]);
  // Only the standard directories install's mkdir -p made in the empty root remain, empty.
  assert.deepEqual(listTree(root), ['etc/systemd/system/', 'etc/sysusers.d/', 'usr/local/lib/']);
});

test('install warns (and still installs) when the service would watch nothing or push to the default endpoint, or its interval differs from what the rules assume', async () => {
  const bare = harness();
  assert.equal(await install(bare, ['--interval', '10m']), 0);
  const warnings = bare.logs.filter((l) => l.startsWith('warning: '));
  assert.ok(
    warnings.some((w) =>
      /the allowlist is empty: .*SYSTEMD_HEARTBEAT_UNITS in \/etc\/default\/systemd-heartbeat \(not there yet\)/.test(w),
    ),
    warnings.join('\n'),
  );
  assert.ok(
    warnings.some((w) => /no endpoint configured: the service will push to http:\/\/127\.0\.0\.1:8428\/opentelemetry\/v1\/metrics/.test(w)),
  );
  assert.ok(
    warnings.some((w) =>
      /--interval 10m: .*--set HEARTBEAT_ABSENT_SECONDS=1800 --set FRESHNESS=1800s and run summary --interval 10m/.test(w),
    ),
  );
  assert.match(bare.out(), /enabled and started/);

  // Configured in the unit's environment file: no warning at all.
  const ready = harness();
  mkdirSync(join(ready.root, 'etc/default'), { recursive: true });
  writeFileSync(
    join(ready.root, 'etc/default/systemd-heartbeat'),
    '# ours\nSYSTEMD_HEARTBEAT_UNITS="k3s,game-*.service"\nOTEL_EXPORTER_OTLP_METRICS_ENDPOINT=http://vm:8428/opentelemetry/v1/metrics\n',
  );
  assert.equal(await install(ready, []), 0);
  assert.deepEqual(
    ready.logs.filter((l) => l.startsWith('warning: ')),
    [],
  );

  // A token over plain http to another host: said; the same to loopback or over https: not.
  for (const [endpoint, warned] of [
    ['http://vm:8428', true],
    ['https://vm:8428', false],
    ['http://127.0.0.1:8428', false],
  ] as const) {
    const h = harness();
    mkdirSync(join(h.root, 'etc/default'), { recursive: true });
    mkdirSync(join(h.root, 'etc/credstore'), { recursive: true });
    writeFileSync(
      join(h.root, 'etc/default/systemd-heartbeat'),
      `SYSTEMD_HEARTBEAT_UNITS=k3s\nOTEL_EXPORTER_OTLP_METRICS_ENDPOINT=${endpoint}\n`,
    );
    writeFileSync(join(h.root, 'etc/credstore/systemd-heartbeat.otlp-token'), 'secret\n');
    assert.equal(await install(h, []), 0);
    assert.equal(
      h.logs.some((l) => /the push sends its token in clear text to vm:8428 \(http:\/\/\)/.test(l)),
      warned,
      `${endpoint}: ${h.logs.join('\n')}`,
    );
  }

  // A world-writable config file: whoever can write it chooses where the token goes.
  const open = harness();
  mkdirSync(join(open.root, 'etc/systemd-heartbeat'), { recursive: true });
  writeFileSync(join(open.root, 'etc/systemd-heartbeat/config.json'), '{"units": ["k3s"]}\n');
  chmodSync(join(open.root, 'etc/systemd-heartbeat/config.json'), 0o666);
  assert.equal(await install(open, ['--config', '/etc/systemd-heartbeat/config.json']), 0);
  assert.ok(
    open.logs.some((l) => /--config \/etc\/systemd-heartbeat\/config\.json is world-writable: .*chmod o-w/.test(l)),
    open.logs.join('\n'),
  );

  // A bad value there is said at install time, not at the first run.
  const bad = harness();
  mkdirSync(join(bad.root, 'etc/default'), { recursive: true });
  writeFileSync(join(bad.root, 'etc/default/systemd-heartbeat'), 'SYSTEMD_HEARTBEAT_UNITS=semi;colon.service\n');
  assert.equal(await install(bad, []), 0);
  assert.ok(
    bad.logs.some((l) => /the service's configuration will be refused: SYSTEMD_HEARTBEAT_UNITS/.test(l)),
    bad.logs.join('\n'),
  );
});

test('install under a 077 umask makes what the service user must read 0755/0644, and replaces a planted symlink instead of writing through it', {
  skip: existsSync(CLI) ? undefined : `${CLI} not built`,
}, async () => {
  const root = tempDir('hb-install-hostile-');
  const bin = tempDir('hb-install-hostile-bin-');
  for (const tool of ['systemctl', 'systemd-sysusers']) {
    writeFileSync(join(bin, tool), '#!/bin/sh\nexit 0\n');
    chmodSync(join(bin, tool), 0o755);
  }
  const victim = join(tempDir('hb-install-victim-'), 'precious');
  writeFileSync(victim, 'not yours\n');
  mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
  symlinkSync(victim, join(root, 'etc/systemd/system/systemd-heartbeat.service'));
  mkdirSync(join(root, 'usr/local/lib'), { recursive: true });
  const previous = process.umask(0o077);
  let r: Awaited<ReturnType<typeof runCli>>;
  try {
    r = await runCli(['install'], {
      SYSTEMD_HEARTBEAT_INSTALL_ROOT: root,
      SYSTEMD_HEARTBEAT_SYSTEMCTL: join(bin, 'systemctl'),
      PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    });
  } finally {
    process.umask(previous);
  }
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(victim, 'utf8'), 'not yours\n', 'the symlink target is untouched');
  const unit = join(root, 'etc/systemd/system/systemd-heartbeat.service');
  assert.ok(!lstatSync(unit).isSymbolicLink() && lstatSync(unit).isFile());
  assert.equal(statSync(join(root, 'usr/local/lib/systemd-heartbeat')).mode & 0o777, 0o755);
  for (const f of [
    'usr/local/lib/systemd-heartbeat/systemd-heartbeat.cjs',
    'usr/local/lib/systemd-heartbeat/systemd-heartbeat.code-cache',
    'etc/systemd/system/systemd-heartbeat.timer',
  ]) {
    assert.equal(statSync(join(root, f)).mode & 0o777, 0o644, f);
  }
  // No temp file is left beside what was written.
  assert.deepEqual(
    readdirSync(join(root, 'etc/systemd/system')).filter((n) => n.startsWith('.')),
    [],
  );
  assert.match(r.stdout, /the running manager was not told/);
});

test("the user unit's LoadCredential= path has systemd specifiers escaped and refuses control characters", () => {
  const base = {
    scope: 'user' as const,
    nodePath: '/usr/bin/node',
    bundlePath: '/home/a/.local/lib/systemd-heartbeat/systemd-heartbeat.cjs',
  };
  assert.match(
    renderService({ ...base, userTokenPath: '/home/a/100%/systemd-heartbeat/otlp-token' }),
    /^LoadCredential=otlp-token:\/home\/a\/100%%\/systemd-heartbeat\/otlp-token$/m,
  );
  assert.throws(() => renderService({ ...base, userTokenPath: '/home/a/x\nExecStartPre=/bin/evil/otlp-token' }), /control characters/);
});
