/**
 * The harness's own test: a real systemd 252 boots in isolation and leaves the host exactly as
 * it found it (a canary in the host's /tmp survives, no process, mount or cgroup is left), and
 * the launcher refuses to boot when any isolation step is missing.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { REPO, skipReason } from './support/cli.ts';
import {
  EXIT_REFUSED,
  LAUNCHER,
  bootSandbox,
  sandboxUnavailable,
  startTime,
  verifyIsolation,
  type ExecResult,
  type Sandbox,
} from './harness/sandbox.ts';

const reason = skipReason(sandboxUnavailable());

/** Host pids in a cgroup2 subtree, each with its start time (so a reused pid is not mistaken). */
function cgroupProcesses(path: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const pid of readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number)) {
    const start = startTime(pid);
    if (start !== undefined) out.set(pid, start);
  }
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isDirectory()) for (const [pid, start] of cgroupProcesses(join(path, entry.name))) out.set(pid, start);
  }
  return out;
}

/** The same process (pid and start time) and not a zombie waiting to be reaped. */
function running(pid: number, start: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return startTime(pid) === start && stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const hostNs = (kind: string): string => spawnSync('readlink', [`/proc/self/ns/${kind}`], { encoding: 'utf8' }).stdout.trim();

describe('systemd sandbox harness', { skip: reason }, () => {
  test('a canary in the host /tmp survives boot and teardown; no process, mount or cgroup is left', async () => {
    const canaryDir = mkdtempSync(join(tmpdir(), 'hb-canary-'));
    const canary = join(canaryDir, 'canary');
    const content = `canary ${Date.now()} ${Math.random()}\n`;
    writeFileSync(canary, content);
    // age it past any tmpfiles cleanup threshold a stray systemd-tmpfiles would apply
    spawnSync('touch', ['-d', '-30 days', canary, canaryDir]);
    const insideOnly = join(tmpdir(), `hb-inside-only-${process.pid}`);
    const mountsBefore = readFileSync('/proc/self/mountinfo', 'utf8');
    try {
      const sb = await bootSandbox();
      let processes: Map<number, string>;
      try {
        const view = await sb.exec([
          'sh',
          '-c',
          `cat /proc/1/comm; stat -f -c %T / /tmp /run /var/tmp; test -e ${canary} && echo canary-visible || echo canary-hidden`,
        ]);
        assert.equal(view.code, 0, view.stderr);
        assert.deepEqual(view.stdout.trim().split('\n'), ['systemd', 'overlayfs', 'tmpfs', 'tmpfs', 'tmpfs', 'canary-hidden']);
        await sb.writeFile(insideOnly, 'written inside\n');
        assert.equal(await sb.readFile(insideOnly), 'written inside\n');
        assert.equal(existsSync(insideOnly), false, 'a write to /tmp inside reached the host');

        processes = cgroupProcesses(sb.cgroupPath);
        assert.ok(processes.has(sb.pid), `systemd (${sb.pid}) is in the sandbox cgroup ${sb.cgroupPath}`);
        assert.ok(processes.size >= 4, `the fixture services run in the sandbox cgroup: ${[...processes.keys()].join(' ')}`);
        // PID 1 lost the capabilities launch.sh drops (CAP_SYS_MODULE = 16, CAP_SYS_TIME = 25)
        const capBnd = BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${sb.pid}/status`, 'utf8'))?.[1] ?? '0'}`);
        assert.equal(capBnd & (1n << 16n), 0n, 'CAP_SYS_MODULE dropped');
        assert.equal(capBnd & (1n << 25n), 0n, 'CAP_SYS_TIME dropped');
      } finally {
        await sb.stop();
      }
      await sb.stop(); // idempotent

      assert.equal(readFileSync(canary, 'utf8'), content, 'the canary survived');
      assert.equal(existsSync(insideOnly), false);
      const survivors = [...processes].filter(([pid, start]) => startTime(pid) === start);
      assert.deepEqual(survivors, [], 'no process of the sandbox is left');
      assert.equal(existsSync(sb.cgroupPath), false, `cgroup ${sb.cgroupPath} removed`);
      assert.equal(readFileSync('/proc/self/mountinfo', 'utf8'), mountsBefore, 'host mounts unchanged');
      const result = await sb.exec(['true']);
      assert.notEqual(result.code, 0, 'exec after stop fails instead of entering anything');
    } finally {
      rmSync(canaryDir, { recursive: true, force: true });
      rmSync(insideOnly, { force: true });
    }
  });

  test('a test process killed by SIGKILL takes its sandbox with it; the next boot sweeps the cgroup', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hb-crash-'));
    const script = join(dir, 'crash.mts');
    writeFileSync(
      script,
      `import { bootSandbox } from ${JSON.stringify(new URL('./harness/sandbox.ts', import.meta.url).href)};\n` +
        `const sb = await bootSandbox();\nconsole.log(JSON.stringify({ pid: sb.pid, cgroup: sb.cgroupPath }));\nsetInterval(() => {}, 1000);\n`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const booted = await new Promise<{ pid: number; cgroup: string }>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no boot within 30 s: ${out}`)), 30_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const line = out.split('\n').find((l) => l.startsWith('{'));
          if (line) {
            clearTimeout(timer);
            resolve(JSON.parse(line) as { pid: number; cgroup: string });
          }
        });
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.once('exit', (code) => reject(new Error(`exited ${code} before booting: ${out}`)));
      });
      const processes = cgroupProcesses(booted.cgroup);
      assert.ok(processes.has(booted.pid));
      child.kill('SIGKILL');
      // no exit hook runs on SIGKILL: launch.sh's pdeathsig chain must take systemd down
      for (let i = 0; i < 200 && [...processes].some(([pid, start]) => running(pid, start)); i++) await sleep(50);
      const survivors = [...processes].filter(([pid, start]) => running(pid, start));
      assert.deepEqual(survivors, [], 'every process of the orphaned sandbox is gone');
      await verifyIsolation(); // any boot sweeps cgroups whose owner is gone
      assert.equal(existsSync(booted.cgroup), false, `stale cgroup ${booted.cgroup} swept`);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the launcher verifies the isolation, and refuses when any step is left out', async () => {
    const ok = await verifyIsolation();
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /isolation verified/);
    const expected: Record<string, RegExp> = {
      'tmpfs-tmp': /\/tmp is overlayfs, not a tmpfs/,
      'tmpfs-run': /\/run is overlayfs, not a tmpfs/,
      'tmpfs-var-tmp': /\/var\/tmp is overlayfs, not a tmpfs/,
      'tmpfs-etc-units': /\/etc\/systemd\/system is overlayfs, not a tmpfs/,
      pivot: /\/ is \S+, not the overlay/,
      'cgroup-mount': /\/sys\/fs\/cgroup is sysfs, not our cgroup2 subtree/,
    };
    for (const [step, message] of Object.entries(expected)) {
      const r = await verifyIsolation([step]);
      // the inner stage writes to the console pty, so its stderr arrives on the launcher's stdout
      const said = r.stdout + r.stderr;
      assert.equal(r.code, EXIT_REFUSED, `--skip ${step}: ${said}`);
      assert.match(said, /REFUSING to boot systemd/);
      assert.match(said, message, `--skip ${step}`);
      assert.doesNotMatch(said, /isolation verified/);
    }
  });

  test('the launcher takes --skip only in a dry run', () => {
    const state = mkdtempSync(join(tmpdir(), 'hb-skip-'));
    try {
      const r = spawnSync(
        'bash',
        [LAUNCHER, '--state', state, '--name', `hb-skip-${process.pid}`, '--units', state, '--target', 'x.target', '--skip', 'pivot'],
        {
          encoding: 'utf8',
          timeout: 10_000,
        },
      );
      assert.equal(r.status, 1);
      assert.match(r.stderr, /--skip is only allowed with --dry-run/);
      assert.equal(existsSync(`/sys/fs/cgroup/unified/hb-skip-${process.pid}`), false);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });

  test('hostNetwork, extraUnits, bootUnits and units written to /etc/systemd/system', async () => {
    // a listener on host loopback: a service inside reaches it only with hostNetwork
    const received: string[] = [];
    const server = createServer((socket) => socket.on('data', (d: Buffer) => received.push(d.toString().trim())));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const connect = (sb: Sandbox, token: string): Promise<ExecResult> =>
      sb.exec(['systemd-run', '--wait', '--quiet', '--service-type=exec', 'bash', '-c', `echo ${token} >/dev/tcp/127.0.0.1/${port}`], {
        timeoutMs: 20_000,
      });
    try {
      await checkNetworks();
    } finally {
      server.close();
    }

    async function checkNetworks(): Promise<void> {
      const sb = await bootSandbox({
        hostNetwork: true,
        withFixtures: false,
        extraUnits: { 'hb-extra.service': '[Service]\nExecStart=/bin/sleep infinity\n' },
        bootUnits: ['hb-extra.service'],
      });
      try {
        const net = await sb.exec(['readlink', `/proc/1/ns/net`]);
        assert.equal(net.stdout.trim(), hostNs('net'), 'hostNetwork: PID 1 shares the host network namespace');
        assert.equal((await sb.systemctl(['is-active', 'hb-extra.service'])).stdout.trim(), 'active');
        assert.equal(
          (await sb.systemctl(['show', '-p', 'LoadState', '--value', 'hb-ok.service'])).stdout.trim(),
          'not-found',
          'withFixtures: false',
        );
        await sb.writeFile('/etc/systemd/system/hb-written.service', '[Service]\nExecStart=/bin/sleep infinity\n');
        assert.equal((await sb.systemctl(['daemon-reload'])).code, 0);
        assert.equal((await sb.systemctl(['start', 'hb-written.service'])).code, 0);
        assert.equal((await sb.systemctl(['is-active', 'hb-written.service'])).stdout.trim(), 'active');
        const pushed = await connect(sb, 'from-host-network');
        assert.equal(pushed.code, 0, pushed.stderr);
        for (let i = 0; i < 100 && !received.includes('from-host-network'); i++) await sleep(50);
        assert.ok(received.includes('from-host-network'), 'a service inside reached host 127.0.0.1');
      } finally {
        await sb.stop();
      }
      const own = await bootSandbox({ withFixtures: false });
      try {
        const net = await own.exec(['readlink', `/proc/1/ns/net`]);
        assert.notEqual(net.stdout.trim(), hostNs('net'), 'by default PID 1 has its own network namespace');
        const execNet = await own.exec(['readlink', '/proc/self/ns/net']);
        assert.equal(execNet.stdout.trim(), hostNs('net'), 'exec() keeps the host network namespace');
        const isolated = await connect(own, 'from-own-network');
        assert.notEqual(isolated.code, 0, 'a service in its own network namespace cannot reach host loopback');
        assert.ok(!received.includes('from-own-network'));
      } finally {
        await own.stop();
      }
    }
  });
});
