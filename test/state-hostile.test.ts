/**
 * A state directory that cannot be turned against the host (issue 19), through the built CLI:
 * planted symlinks and FIFOs, /dev/zero as state.json, a directory others may write, stored
 * state with wrong types and prototype keys, a full disk (a tiny tmpfs in a private mount
 * namespace), and `systemctl show` answering garbage with exit 0. The push goes to a loopback
 * receiver that records what it got; systemctl replays recorded systemd 252 output.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI, runCli } from './support/cli.ts';
import { createReplay, type Replay } from './support/replay.ts';

const seed = (name: string): string => readFileSync(new URL(`fixtures/seed-252/${name}`, import.meta.url), 'utf8');
const TIMEOUT_MS = 3000;
const BOUND_MS = TIMEOUT_MS + 4000;

describe('hostile state directory', () => {
  let replay: Replay;
  let server: Server;
  let endpoint = '';
  let pushes = 0;
  const dirs: string[] = [];
  before(async () => {
    replay = createReplay({ listUnits: seed('list-units-all-output-json.txt'), show: seed('show-props-all-timestamp-unix.txt') });
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        pushes++;
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/opentelemetry/v1/metrics`;
  });
  after(async () => {
    replay?.remove();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  function tempDir(): string {
    const d = mkdtempSync(join(tmpdir(), 'hb-state-hostile-'));
    dirs.push(d);
    return d;
  }
  const run = (state: string, extra: Record<string, string> = {}) =>
    runCli(['-u', 'hb-ok.service', '-u', 'hb-tick.timer', '--timeout', `${TIMEOUT_MS}ms`], {
      SYSTEMD_HEARTBEAT_SYSTEMCTL: replay.systemctl,
      SYSTEMD_HEARTBEAT_STATE_DIR: state,
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: endpoint,
      ...extra,
    });

  test('a symlink planted as state.json is not followed: its target is neither read nor written', async () => {
    const state = join(tempDir(), 'state');
    mkdirSync(join(state, 'spool'), { recursive: true, mode: 0o700 });
    const victim = join(tempDir(), 'victim');
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, join(state, 'state.json'));
    const r = await run(state);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /state\.json unreadable \(a symlink, not followed\), starting afresh/);
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
    assert.deepEqual(
      readdirSync(state).filter((f) => f.includes('tmp')),
      [],
      'no temp file left',
    );
  });

  test('/dev/zero as state.json, FIFOs as state.json, lock and a spool file: the run neither hangs nor grows', async () => {
    for (const plant of ['zero', 'fifo-state', 'fifo-lock', 'fifo-spool'] as const) {
      const state = join(tempDir(), 'state');
      mkdirSync(join(state, 'spool'), { recursive: true, mode: 0o700 });
      if (plant === 'zero') symlinkSync('/dev/zero', join(state, 'state.json'));
      const fifo = {
        'fifo-state': 'state.json',
        'fifo-lock': 'lock',
        'fifo-spool': `spool/run-${String(Date.now()).padStart(16, '0')}-1-00000000.run`,
      }[plant as string];
      if (fifo) assert.equal(spawnSync('mkfifo', [join(state, fifo)]).status, 0);
      const r = await run(state);
      assert.ok(r.ms < BOUND_MS, `${plant}: bounded, ${r.ms} ms`);
      assert.notEqual(r.code, null, `${plant}: exited by itself`);
      if (plant === 'fifo-lock') {
        // Not a lock a run wrote: this run pushes and leaves the state to a holder.
        assert.equal(r.code, 0, r.stderr);
      } else {
        assert.equal(r.code, 0, `${plant}: ${r.stderr}`);
        assert.match(
          r.stderr,
          plant === 'fifo-spool' ? /not a regular file/ : /state\.json unreadable \((a symlink, not followed|not a regular file)\)/,
        );
      }
    }
  });

  test('a symlink, a FIFO or garbage as show-cache.json: followed never, read without hanging, reported, removed; the run shows every unit', async () => {
    const victim = join(tempDir(), 'victim');
    writeFileSync(victim, 'precious\n');
    for (const plant of ['symlink', 'fifo', 'garbage', 'hostile-json'] as const) {
      const state = join(tempDir(), 'state');
      mkdirSync(join(state, 'spool'), { recursive: true, mode: 0o700 });
      const path = join(state, 'show-cache.json');
      if (plant === 'symlink') symlinkSync(victim, path);
      if (plant === 'fifo') assert.equal(spawnSync('mkfifo', [path]).status, 0);
      if (plant === 'garbage') writeFileSync(path, '\u0000\u0001 not json');
      if (plant === 'hostile-json') writeFileSync(path, JSON.stringify({ bootId: 5, statuses: { __proto__: { id: 1 } } }));
      const r = await run(state);
      assert.ok(r.ms < BOUND_MS, `${plant}: bounded, ${r.ms} ms`);
      assert.equal(r.code, 0, `${plant}: ${r.stderr}`);
      assert.match(
        r.stderr,
        /show-cache\.json (unreadable \((a symlink, not followed|not a regular file)\)|is not a cache of shown units): every unit is shown/,
      );
      assert.equal(existsSync(path), false, `${plant}: removed (a replay has no invocation links, so no records are kept)`);
      assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
      const again = await run(state);
      assert.doesNotMatch(again.stderr, /show-cache/, `${plant}: said once`);
    }
  });

  test('a state directory others may write, or another user owns, is refused in one line; the run still pushes', async () => {
    const state = join(tempDir(), 'state');
    mkdirSync(join(state, 'spool'), { recursive: true });
    chmodSync(state, 0o1777);
    const before = pushes;
    const r = await run(state);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(pushes, before + 1, 'pushed');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /state directory .* unusable \(.* is writable by others \(mode 1777\): chmod go-w it\)/);
    assert.ok(!existsSync(join(state, 'state.json')), 'nothing written there');

    const foreign = join(tempDir(), 'foreign');
    mkdirSync(join(foreign, 'spool'), { recursive: true, mode: 0o700 });
    spawnSync('chown', ['-R', '65534:65534', foreign]);
    const f = await run(foreign);
    assert.equal(f.code, 0, f.stderr);
    assert.match(f.stderr, /is owned by uid 65534, not by this user/);
  });

  test('stored state with wrong types and prototype keys: numbers stay numbers, no inherited key is read', async () => {
    const state = join(tempDir(), 'state');
    mkdirSync(join(state, 'spool'), { recursive: true, mode: 0o700 });
    writeFileSync(
      join(state, 'state.json'),
      JSON.stringify({
        units: { 'hb-ok.service': { starts: 'abc', invocationId: 'x' }, constructor: { starts: 1 } },
        spoolDropped: 0,
        timers: { 'hb-tick.timer': { service: 'hb-oneshot.service', runs: { success: 'many', constructor: 2 } } },
        journal: { since: 'yesterday' },
      }),
    );
    const r = await runCli(['--dry-run', '--format', 'json', '-u', 'hb-ok.service', '-u', 'hb-tick.timer'], {
      SYSTEMD_HEARTBEAT_SYSTEMCTL: replay.systemctl,
      SYSTEMD_HEARTBEAT_STATE_DIR: state,
    });
    assert.equal(r.code, 0, r.stderr);
    const observations = JSON.parse(r.stdout).observations as Array<{ name: string; labels: Record<string, string>; value: unknown }>;
    for (const o of observations) assert.equal(typeof o.value, 'number', `${o.name} ${JSON.stringify(o.labels)}: ${String(o.value)}`);
    const runs = observations.filter((o) => o.name === 'systemd_timer_runs_total');
    assert.deepEqual(runs.map((o) => [o.labels.result, o.value]).sort(), [
      ['constructor', 2],
      ['success', 0],
    ]);
  });

  test('systemctl show exiting 0 with garbage is a failed read (exit 1, logged), not a host without units', async () => {
    const garbage = createReplay({ listUnits: seed('list-units-all-output-json.txt'), show: 'garbage\n\x1b[31mnot a property\n' });
    try {
      const r = await runCli(['-u', 'hb-ok.service', '--timeout', `${TIMEOUT_MS}ms`], {
        SYSTEMD_HEARTBEAT_SYSTEMCTL: garbage.systemctl,
        SYSTEMD_HEARTBEAT_STATE_DIR: join(tempDir(), 'state'),
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: endpoint,
      });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /systemctl show: its output holds none of the \d+ unit\(s\) asked for/);
      assert.match(r.stderr, /pushed a partial collection/);
    } finally {
      garbage.remove();
    }
  });

  // A 64 KiB tmpfs in a private mount namespace: the spool write fails for want of room.
  const canUnshare = process.getuid?.() === 0 && spawnSync('unshare', ['--mount', 'true']).status === 0;
  test('a full disk leaves no temp file and no empty lock, and says what failed', {
    skip: canUnshare ? undefined : 'needs root and unshare --mount',
  }, () => {
    const dir = tempDir();
    const state = join(dir, 'state');
    mkdirSync(state);
    const script = join(dir, 'run.sh');
    writeFileSync(
      script,
      `#!/bin/sh\nmount -t tmpfs -o size=64k,mode=700 tmpfs '${state}' && mkdir -m 700 '${state}/spool' && head -c 60000 /dev/zero > '${state}/filler' 2>/dev/null; "$@"; echo "exit=$?"; ls -A '${state}' '${state}/spool'\n`,
    );
    chmodSync(script, 0o755);
    const r = spawnSync(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        script,
        process.execPath,
        CLI,
        '-u',
        'hb-ok.service',
        '--timeout',
        '2s',
        '--endpoint',
        'http://127.0.0.1:1/opentelemetry/v1/metrics',
      ],
      {
        encoding: 'utf8',
        timeout: 30_000,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          SYSTEMD_HEARTBEAT_SYSTEMCTL: replay.systemctl,
          SYSTEMD_HEARTBEAT_STATE_DIR: state,
        },
      },
    );
    assert.match(r.stdout, /exit=1/, r.stdout + r.stderr);
    assert.match(r.stderr, /this run is lost: spooling it failed \(ENOSPC/);
    const names = r.stdout.split('\n').filter((l) => l !== '' && !l.endsWith(':') && !l.startsWith('exit='));
    assert.deepEqual(names.sort(), ['filler', 'spool'], `nothing left behind (no temp file, no lock):\n${r.stdout}`);
    assert.doesNotMatch(r.stderr, /another run holds/);
  });
});
