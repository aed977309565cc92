/**
 * The shape of a tick's cost, not its speed (issue 8; `npm run bench` times it): a fixed
 * number of processes per tick whatever the number of units, and a shipped entry point that
 * needs nothing from node_modules. The built CLI runs as a process on recorded systemd 252
 * output scaled to N units (scripts/bench/units.ts), only the systemctl/journalctl edges
 * replayed, and pushes to a real VictoriaMetrics.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateUnits, replaySystemd } from '../scripts/bench/units.ts';
import { CLI, REPO, assertBuilt, runCli, skipReason } from './support/cli.ts';
import { BUNDLE_NAME, CODE_CACHE_NAME } from '../src/install/units.ts';
import { INTERPRETED_FROM_UNITS } from '../src/tuning.ts';
import { startVictoria, victoriaUnavailable, type Victoria } from './support/victoria.ts';

const reason = skipReason(victoriaUnavailable());
/** What npm run build writes and install copies. */
const SHIPPED = [BUNDLE_NAME, CODE_CACHE_NAME];

/** A -r preload that records the modules, node's built-in modules and the vm.Scripts a process loaded. */
function probe(at: string): {
  path: string;
  read(): { modules: string[]; builtins: string[]; scripts: Array<{ filename: string; cached: boolean; rejected: boolean | undefined }> };
} {
  const path = join(at, 'probe.cjs');
  const out = join(at, 'probe.json');
  writeFileSync(
    path,
    `const vm = require('node:vm');
const scripts = [];
vm.Script = class extends vm.Script {
constructor(source, options) {
  super(source, options);
  scripts.push({ filename: options.filename, cached: options.cachedData !== undefined, rejected: this.cachedDataRejected });
}
};
process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify({ modules: Object.keys(require.cache), builtins: process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)), scripts })));
`,
  );
  return { path, read: () => JSON.parse(readFileSync(out, 'utf8')) };
}

describe('systemctl and journalctl calls per tick do not grow with the number of units', { skip: reason }, () => {
  let vm: Victoria;
  before(async () => {
    vm = await startVictoria();
  });
  after(async () => {
    await vm?.stop();
  });

  /** Two real ticks at N units; the calls each edge saw, and the units VictoriaMetrics holds. */
  async function ticks(n: number): Promise<{ systemctl: string[][]; journalctl: number; loaded: number }> {
    const replay = replaySystemd(n);
    const state = mkdtempSync(join(tmpdir(), 'hb-shape-state-'));
    try {
      const host = `shape-${n}`;
      for (let i = 0; i < 2; i++) {
        const result = await runCli([], {
          ...replay.env,
          SYSTEMD_HEARTBEAT_HOST: host,
          SYSTEMD_HEARTBEAT_STATE_DIR: state,
          OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: vm.otlpUrl,
        });
        assert.equal(result.code, 0, result.stderr);
      }
      // Bounded wait until the pushes are searchable.
      let loaded = 0;
      for (let i = 0; i < 40 && loaded < n; i++) {
        await vm.flush();
        loaded = (await vm.series(`systemd_unit_loaded{host="${host}"}`)).length;
        if (loaded < n) await new Promise((r) => setTimeout(r, 250));
      }
      return { systemctl: replay.systemctlCalls(), journalctl: replay.journalCalls(), loaded };
    } finally {
      replay.remove();
      rmSync(state, { recursive: true, force: true });
    }
  }

  test('N=10 and N=1000: one list-units, one show naming every unit, one journalctl, per tick', async () => {
    for (const n of [10, 1000]) {
      const { systemctl, journalctl, loaded } = await ticks(n);
      assert.equal(loaded, n, `VictoriaMetrics holds ${loaded} units of ${n}`);
      const verbs = systemctl.map((args) => args.find((a) => a === 'list-units' || a === 'show'));
      assert.deepEqual(verbs, ['list-units', 'show', 'list-units', 'show'], `N=${n}: ${systemctl.length} systemctl calls`);
      const show = systemctl[1] as string[];
      const named = show.slice(show.indexOf('--') + 1);
      for (const name of generateUnits(n).names) assert.ok(named.includes(name), `N=${n}: ${name} is not in the one show call`);
      assert.equal(journalctl, 2, `N=${n}: journalctl ran ${journalctl} times in 2 ticks`);
    }
  });

  test('a tick pushing over http to 127.0.0.1, told its host, loads no TLS, crypto, DNS or os module (each costs every tick start-up time)', async () => {
    const at = mkdtempSync(join(tmpdir(), 'hb-shape-builtins-'));
    const replay = replaySystemd(10);
    try {
      const p = probe(at);
      const result = await run(
        [process.execPath, '-r', p.path, CLI],
        {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          ...replay.env,
          SYSTEMD_HEARTBEAT_HOST: 'shape-builtins',
          SYSTEMD_HEARTBEAT_STATE_DIR: join(at, 'state'),
          OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: vm.otlpUrl,
        },
        at,
      );
      assert.equal(result.code, 0, result.stderr);
      const { builtins } = p.read();
      assert.ok(builtins.includes('http'), `the push went over node:http: ${builtins.join(' ')}`);
      // node:v8 too: a tick this small keeps TurboFan (src/tuning.ts); node:os only when nothing
      // names the host (src/hostname.ts); Node's rimraf, which rmSync loads, never (store.ts).
      const costly = builtins.filter(
        (m) => /^(crypto|https|tls|dns|zlib|v8|os|internal\/fs\/rimraf)$/.test(m) || m.startsWith('internal/crypto/'),
      );
      assert.deepEqual(costly, []);
    } finally {
      replay.remove();
      rmSync(at, { recursive: true, force: true });
    }
  });

  test(`a tick showing ${INTERPRETED_FROM_UNITS} units or more turns TurboFan off (loads node:v8 for it); a smaller one does not`, async () => {
    const at = mkdtempSync(join(tmpdir(), 'hb-shape-tuning-'));
    try {
      /** Whether a dry run at n units loaded node:v8, and how many units its show named. */
      const loadsV8 = async (n: number): Promise<{ v8: boolean; shown: number }> => {
        const replay = replaySystemd(n);
        try {
          const p = probe(at);
          const env = {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            ...replay.env,
            SYSTEMD_HEARTBEAT_STATE_DIR: join(at, `state-${n}`),
          };
          const result = await run([process.execPath, '-r', p.path, CLI, '--dry-run', '--format', 'json'], env, at);
          assert.equal(result.code, 0, result.stderr);
          const show = replay.systemctlCalls().find((args) => args.includes('show')) as string[];
          return { v8: p.read().builtins.includes('v8'), shown: show.length - show.indexOf('--') - 1 };
        } finally {
          replay.remove();
        }
      };
      const small = await loadsV8(10);
      const large = await loadsV8(100);
      assert.ok(small.shown < INTERPRETED_FROM_UNITS && large.shown >= INTERPRETED_FROM_UNITS, `${small.shown}, ${large.shown}`);
      assert.equal(small.v8, false);
      assert.equal(large.v8, true);
    } finally {
      rmSync(at, { recursive: true, force: true });
    }
  });
});

describe('the shipped entry point needs no node_modules', () => {
  let dir: string;
  before(() => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), 'hb-alone-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Copies the built files (the bundle and its code cache) into `to`; returns the bundle's path. */
  function copyBuild(to: string, names = SHIPPED): string {
    for (const name of names) copyFileSync(join(dirname(CLI), name), join(to, name));
    return join(to, 'systemd-heartbeat.cjs');
  }

  /**
   * A -r module that reports every module Node loaded from a file (builtins are not in
   * require.cache) and every vm.Script made: its file, whether it got a code cache, and
   * whether V8 took it.
   */
  test('a copy outside the repository runs a dry run, loading no module but itself, with its code cache', async () => {
    assert.ok(!dir.startsWith(`${REPO}/`), `${dir} is inside the repository`);
    const copy = copyBuild(dir);
    const p = probe(dir);
    const replay = replaySystemd(10);
    try {
      const result = await run(
        [process.execPath, '-r', p.path, copy, '--dry-run', '--format', 'json'],
        {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          ...replay.env,
          SYSTEMD_HEARTBEAT_STATE_DIR: join(dir, 'state'),
        },
        dir,
      );
      assert.equal(result.code, 0, result.stderr);
      const { observations } = JSON.parse(result.stdout) as { observations: Array<{ name: string }> };
      assert.equal(observations.filter((o) => o.name === 'systemd_unit_loaded').length, 10);
      const { modules, scripts } = p.read();
      assert.deepEqual(modules.sort(), [copy, p.path].sort());
      assert.equal(
        modules.some((m) => m.includes('node_modules')),
        false,
      );
      // Compiled with the cache this node made at build time.
      assert.deepEqual(scripts, [{ filename: copy, cached: true, rejected: false }]);
    } finally {
      replay.remove();
    }
  });

  test("alone, or with another build's code cache, the bundle runs, compiled as usual", async () => {
    const at = mkdtempSync(join(tmpdir(), 'hb-nocache-'));
    try {
      const copy = copyBuild(
        at,
        SHIPPED.filter((n) => !n.endsWith('.code-cache')),
      );
      const p = probe(at);
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
      let r = await run([process.execPath, '-r', p.path, copy, '--version'], env, at);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^systemd-heartbeat \d/);
      assert.deepEqual(
        p.read().scripts.map((s) => s.cached),
        [false],
      );
      // A cache of the same length from another build would be taken by V8 (it checks the
      // source's length only): the loader reads the build id first and leaves it.
      const cache = readFileSync(join(dirname(CLI), 'systemd-heartbeat.code-cache'));
      writeFileSync(join(at, 'systemd-heartbeat.code-cache'), Buffer.concat([Buffer.from('0000000000000000'), cache.subarray(16)]));
      r = await run([process.execPath, '-r', p.path, copy, '--version'], env, at);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        p.read().scripts.map((s) => s.cached),
        [false],
      );
    } finally {
      rmSync(at, { recursive: true, force: true });
    }
  });
});

function run(argv: string[], env: Record<string, string>, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] as string, argv.slice(1), { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
