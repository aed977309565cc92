/**
 * Debian 12's own nodejs 18 and the .deb `npm run package` builds, live in the isolated real
 * systemd 252 (test/harness), pushing to a real VictoriaMetrics on the host's loopback.
 *
 * Debian's node is installed with `dpkg -i` inside the sandbox's root only (an overlay whose
 * writes land in a tmpfs): its packages come from scripts/fetch-bookworm.sh node18, and the
 * host's nodesource nodejs is removed first, inside, as a Debian 12 host would not have it. Then:
 * the built bundle under node 18 does a tick, a push outage spools a run and the next run
 * backfills it, and `summary` reads them back; the .deb installs (its code cache made by this
 * node 18, and taken), the timer pushes as the service user with no collect error, the next
 * version installs over it keeping the config and the state (systemd_unit_starts_total goes on),
 * `dpkg -r` keeps the config and `dpkg --purge` leaves no file, unit, user or state directory.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Summary } from '../src/summary/model.ts';
import { bootSandbox, sandboxUnavailable, type Sandbox } from './harness/sandbox.ts';
import { CLI, REPO, assertBuilt, skipReason } from './support/cli.ts';
import { startVictoria, victoriaUnavailable, type Victoria } from './support/victoria.ts';
import { commandRunner, filesNamedLikeUs, runStamps } from './support/installed.ts';

const NODE18 = join(REPO, '.cache/node18');
const NODE = '/usr/bin/node';
const LIB = '/usr/lib/systemd-heartbeat';
const UNITS = ['systemd-heartbeat.service', 'systemd-heartbeat.timer'];
/** The sandbox's systemd reads units from its own directory only (launch.sh): see linkUnits(). */
const SANDBOX_UNIT_DIR = '/usr/lib/hb-sandbox/system';
/** Where anything the package or a run creates could land; searched before and after. */
const SEARCHED = ['/etc', '/usr', '/var', '/run', '/tmp'];

function node18Unavailable(): string | undefined {
  if (!existsSync(join(NODE18, '.installed'))) return `Debian 12's nodejs is not in ${NODE18} (run scripts/fetch-bookworm.sh node18)`;
  if (spawnSync('sh', ['-c', 'command -v dpkg-deb'], { encoding: 'utf8' }).status !== 0) return 'dpkg-deb is missing';
  return undefined;
}

const skip = skipReason(sandboxUnavailable() ?? victoriaUnavailable() ?? node18Unavailable());

const ok = commandRunner(120_000);

const sh = (sb: Sandbox, script: string): Promise<string> => ok(sb, ['sh', '-c', script]);

/** A -r module that records every vm.Script: whether it was given a code cache and whether V8 took it. */
const PROBE = `const vm = require('node:vm');
const scripts = [];
vm.Script = class extends vm.Script {
  constructor(source, options) {
    super(source, options);
    scripts.push({ cached: options.cachedData !== undefined, rejected: this.cachedDataRejected });
  }
};
process.on('exit', () => process.stderr.write('PROBE ' + JSON.stringify(scripts) + '\\n'));
`;

describe("Debian 12's nodejs 18 and the .deb, in the isolated systemd", { skip, timeout: 600_000 }, () => {
  let vm: Victoria;
  let sb: Sandbox;
  let out: string;
  let hostname: string;
  const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
  const next = `${version}+next1`;

  before(async () => {
    assertBuilt();
    out = mkdtempSync(join(tmpdir(), 'hb-package-live-'));
    for (const v of [version, next]) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/package.ts', '--no-build', '--version', v, '--out', out], {
        cwd: REPO,
        encoding: 'utf8',
        timeout: 120_000,
      });
      assert.equal(r.status, 0, r.stderr);
    }
    [vm, sb] = await Promise.all([startVictoria(), bootSandbox({ hostNetwork: true })]);
    // The host's /tmp is not the sandbox's: the packages are copied in.
    for (const f of readdirSync(join(NODE18, 'debs'))) await sb.writeFile(`/root/node18/${f}`, readFileSync(join(NODE18, 'debs', f)));
    for (const f of readdirSync(out)) await sb.writeFile(`/root/pkg/${f}`, readFileSync(join(out, f)));
    // This machine's image carries docker's policy-rc.d (exit 101: start nothing), which
    // deb-systemd-invoke honours; a Debian host has none. Real hosts boot with / shared
    // (systemd's mount_setup; see install-live.test.ts for what LoadCredential= needs of it).
    await sh(sb, 'rm -f /usr/sbin/policy-rc.d && mount --make-rshared /');
    // The host's nodejs 20 (nodesource) provides nodejs-legacy, which libnode108 conflicts with.
    await sh(sb, 'dpkg --purge --force-depends nodejs >/dev/null && dpkg -i /root/node18/*.deb >/dev/null');
    hostname = (await ok(sb, ['hostname'])).trim();
  });
  after(async () => {
    await Promise.all([sb?.stop(), vm?.stop()]);
    if (out) rmSync(out, { recursive: true, force: true });
  });

  test("node is Debian 12's 18, and nothing of it is on the host", async () => {
    const inside = (await ok(sb, [NODE, '--version'])).trim();
    assert.match(inside, /^v18\.(19|[2-9]\d)\.\d+$/);
    assert.match(await ok(sb, ['dpkg-query', '-W', '-f', '${Version}', 'nodejs']), /^18\.\d+\.\d+\+dfsg-\d/);
    assert.notEqual(spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim(), inside, "the host's node is another");
  });

  describe('the built bundle under node 18', () => {
    const HOST = 'node18';
    const tick = (endpoint: string) =>
      sb.exec(
        [NODE, CLI, '--host', HOST, '-u', 'hb-*.service', '-u', 'hb-*.timer', '--endpoint', endpoint, '--state-dir', '/var/lib/hb-node18'],
        { timeoutMs: 30_000 },
      );

    test('a tick reads the isolated systemd and pushes; an outage spools the run and the next one backfills it', async () => {
      const first = await tick(vm.otlpUrl);
      assert.equal(first.code, 0, first.stderr);
      const active = await vm.exportWhen(`systemd_unit_active{host="${HOST}",unit="hb-ok.service"}`, (s) => s.length > 0);
      assert.deepEqual(
        active.map((s) => s.values),
        [[1]],
      );
      const errors = await vm.exportWhen(`systemd_heartbeat_collect_errors{host="${HOST}"}`, (s) => s.length > 0);
      assert.deepEqual(
        errors.map((s) => s.values),
        [[0]],
      );

      await vm.halt();
      const down = await tick(vm.otlpUrl);
      await vm.resume();
      assert.equal(down.code, 1, `a failed push exits 1: ${down.stderr}`);
      assert.match(down.stderr, /kept in \/var\/lib\/hb-node18\/spool \(1 waiting\)/);
      assert.equal((await runStamps(vm, HOST)).length, 1, 'the outage run was not pushed');
      const again = await tick(vm.otlpUrl);
      assert.equal(again.code, 0, again.stderr);
      await sb.waitFor(async () => (await runStamps(vm, HOST)).length === 3, 'the spooled run backfilled beside the two others', 20_000);
    });

    test('summary reads those runs back', async () => {
      // VictoriaMetrics answers queries a little later than the export above sees the rows.
      await sb.waitFor(
        async () => {
          await vm.flush();
          const [count] = await vm.query(`count_over_time(systemd_heartbeat_last_run_timestamp_seconds{host="${HOST}"}[10m])`);
          return count?.value === 3;
        },
        'the three runs to be searchable',
        20_000,
      );
      const r = await sb.exec([NODE, CLI, 'summary', '--since', '10m', '--host', HOST, '--vm-url', vm.url, '--format', 'json'], {
        timeoutMs: 60_000,
      });
      assert.equal(r.stderr, '', 'summary wrote to stderr');
      assert.equal(r.code, 3, `problems found (exit 3): ${r.stdout}`);
      const s = JSON.parse(r.stdout) as Summary;
      const host = s.hosts[0];
      assert.ok(host && host.host === HOST && !host.noData, r.stdout);
      assert.ok(
        host.failed.some((f) => f.unit === 'hb-failed.service' && f.exitStatus === 3),
        JSON.stringify(host.failed),
      );
      // (runs within one second: how many of them coverage counts is the summary's business)
      assert.ok(host.coverage.runs > 0 && host.coverage.lastRunAt !== null, JSON.stringify(host.coverage));
    });
  });

  describe('the .deb', () => {
    let before: string[];
    /** Last runs of the current install: stamps seen before a step. */
    let stampsBefore = 0;

    test('dpkg -i: the user, the timer enabled and started, a code cache made by this node 18 and taken', async () => {
      await linkUnits(sb);
      before = await filesNamedLikeUs(ok, sb, SEARCHED, SANDBOX_UNIT_DIR);
      const install = await ok(sb, ['dpkg', '-i', `/root/pkg/systemd-heartbeat_${version}_all.deb`]);
      assert.match(install, new RegExp(`Setting up systemd-heartbeat \\(${version.replace(/[.+]/g, '\\$&')}\\)`));
      assert.equal((await ok(sb, ['systemctl', 'is-enabled', 'systemd-heartbeat.timer'])).trim(), 'enabled');
      assert.equal((await ok(sb, ['systemctl', 'is-active', 'systemd-heartbeat.timer'])).trim(), 'active');
      const uid = Number((await ok(sb, ['id', '-u', 'systemd-heartbeat'])).trim());
      assert.ok(uid > 0 && uid < 1000, `a system uid: ${uid}`);
      assert.equal((await ok(sb, ['systemd-heartbeat', '--version'])).trim(), `systemd-heartbeat ${version}`);
      // The package's timer is apt's: `install` (which would write units over it) refuses.
      const own = await sb.exec(['systemd-heartbeat', 'install']);
      assert.equal(own.code, 2, own.stderr);
      assert.match(own.stderr, /the Debian package's: its timer is already installed/);

      const header = (await sh(sb, `head -n 1 ${LIB}/systemd-heartbeat.code-cache`)).trim();
      const inside = (await ok(sb, [NODE, '--version'])).trim();
      assert.match(header, new RegExp(`^[0-9a-f]{16} ${inside.replace(/\./g, '\\.')} x64$`), 'made by the node on the host');
      await sb.writeFile('/root/probe.cjs', PROBE);
      const probed = await sb.exec([NODE, '-r', '/root/probe.cjs', `${LIB}/systemd-heartbeat.cjs`, '--version']);
      assert.equal(probed.code, 0, probed.stderr);
      assert.match(probed.stderr, /^PROBE \[\{"cached":true,"rejected":false\}\]$/m, 'node 18 took the cache');
    });

    test('configured in /etc/default/systemd-heartbeat, the timer pushes as the service user with 0 collect errors', async () => {
      await sb.writeFile(
        '/etc/default/systemd-heartbeat',
        `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=${vm.otlpUrl}\nSYSTEMD_HEARTBEAT_UNITS=hb-ok.service,hb-oneshot.service,systemd-heartbeat.timer\n`,
      );
      // Every 2 s instead of 30, the way an operator changes it (systemctl edit). An empty
      // On*= resets every trigger of the timer, so it comes first.
      await sb.writeFile(
        '/etc/systemd/system/systemd-heartbeat.timer.d/interval.conf',
        '[Timer]\nOnBootSec=\nOnBootSec=2s\nOnUnitActiveSec=2s\n',
      );
      await ok(sb, ['systemctl', 'daemon-reload']);
      await ok(sb, ['systemctl', 'restart', 'systemd-heartbeat.timer']);
      await sb.waitFor(async () => (await runStamps(vm, hostname)).length >= 3, 'three runs pushed by the timer', 60_000);
      const errors = await vm.query(`systemd_heartbeat_collect_errors{host="${hostname}"}`);
      assert.deepEqual(
        errors.map((s) => s.value),
        [0],
      );
      const active = await vm.query(`systemd_unit_active{host="${hostname}",unit="hb-ok.service"}`);
      assert.deepEqual(
        active.map((s) => s.value),
        [1],
      );
      const interval = await vm.query(`systemd_timer_interval_seconds{host="${hostname}",unit="systemd-heartbeat.timer"}`);
      assert.deepEqual(
        interval.map((s) => s.value),
        [2],
      );
      const uid = (await ok(sb, ['id', '-u', 'systemd-heartbeat'])).trim();
      const owners = (await ok(sb, ['find', '/var/lib/private/systemd-heartbeat', '-printf', '%U\n'])).trim().split('\n');
      assert.ok(owners.length > 1 && owners.every((o) => o === uid), `state files owned by ${uid}: ${owners.join(',')}`);
      // hb-tick.timer starts hb-oneshot.service every 2 s: its starts counter is well above 0 before the upgrade.
      await sb.waitFor(
        async () => ((await startsTotal(vm, hostname)).at(-1)?.[1] ?? 0) >= 3,
        'hb-oneshot.service to have started 3 times',
        60_000,
      );
    });

    test('the next version over it keeps the config and the state: systemd_unit_starts_total goes on', async () => {
      const config = await sb.readFile('/etc/default/systemd-heartbeat');
      const cacheBefore = (await sh(sb, `head -n 1 ${LIB}/systemd-heartbeat.code-cache`)).trim();
      const last = (await startsTotal(vm, hostname)).at(-1);
      assert.ok(last);
      const upgradedAt = Date.now();
      const upgrade = await ok(sb, ['dpkg', '-i', `/root/pkg/systemd-heartbeat_${next}_all.deb`]);
      assert.match(upgrade, /Unpacking systemd-heartbeat .* over \(/);
      assert.equal(await ok(sb, ['dpkg-query', '-W', '-f', '${Version}', 'systemd-heartbeat']), next);
      assert.equal(await sb.readFile('/etc/default/systemd-heartbeat'), config, 'the configuration is kept');
      // prerm removed the old one, postinst made it again.
      const madeAt = Number((await ok(sb, ['stat', '-c', '%Y', `${LIB}/systemd-heartbeat.code-cache`])).trim());
      assert.ok(madeAt >= Math.floor(upgradedAt / 1000), `the code cache was made again at the upgrade (${madeAt})`);
      assert.equal((await sh(sb, `head -n 1 ${LIB}/systemd-heartbeat.code-cache`)).trim(), cacheBefore);
      await sb.waitFor(
        async () => (await startsTotal(vm, hostname)).filter(([t]) => t > upgradedAt).length >= 2,
        'two runs of the new version',
        60_000,
      );
      const after = (await startsTotal(vm, hostname)).filter(([t]) => t > upgradedAt);
      assert.ok(
        after.every(([, v]) => v >= last[1]),
        `the counter goes on from ${last[1]}: ${JSON.stringify(after)}`,
      );
      const errors = await vm.query(`systemd_heartbeat_collect_errors{host="${hostname}"}`);
      assert.deepEqual(
        errors.map((s) => s.value),
        [0],
      );
    });

    test('nodejs installed again (an upgrade): the dpkg trigger makes the code cache again, for that node', async () => {
      const stamp = async (): Promise<number> => Number((await ok(sb, ['stat', '-c', '%Y', `${LIB}/systemd-heartbeat.code-cache`])).trim());
      const madeBefore = await stamp();
      await new Promise((r) => setTimeout(r, 1_100)); // mtime has whole seconds
      const reinstall = await sh(sb, 'dpkg -i /root/node18/nodejs_*.deb');
      assert.match(reinstall, /Processing triggers for systemd-heartbeat/);
      assert.ok((await stamp()) > madeBefore, 'the cache was made again');
      const probed = await sb.exec([NODE, '-r', '/root/probe.cjs', `${LIB}/systemd-heartbeat.cjs`, '--version']);
      assert.match(probed.stderr, /^PROBE \[\{"cached":true,"rejected":false\}\]$/m, 'and node takes it');
    });

    test('dpkg -r keeps the config and the state, runs nothing more; dpkg --purge leaves no file, unit, user or state directory', async () => {
      const config = await sb.readFile('/etc/default/systemd-heartbeat');
      await ok(sb, ['dpkg', '-r', 'systemd-heartbeat']);
      assert.equal(await sb.readFile('/etc/default/systemd-heartbeat'), config);
      assert.equal((await sb.exec(['test', '-e', LIB])).code, 1, `${LIB} is gone, code cache and all`);
      assert.equal((await sb.exec(['test', '-d', '/var/lib/private/systemd-heartbeat'])).code, 0, 'the state directory is kept');
      assert.notEqual((await sb.exec(['systemctl', 'is-active', 'systemd-heartbeat.timer'])).stdout.trim(), 'active');
      stampsBefore = (await runStamps(vm, hostname)).length;
      await new Promise((r) => setTimeout(r, 5_000));
      assert.equal((await runStamps(vm, hostname)).length, stampsBefore, 'no run after dpkg -r');

      // The drop-in is the operator's file, as /etc/default/systemd-heartbeat was before purge.
      await ok(sb, ['rm', '-r', '/etc/systemd/system/systemd-heartbeat.timer.d']);
      await ok(sb, ['dpkg', '--purge', 'systemd-heartbeat']);
      assert.deepEqual(await filesNamedLikeUs(ok, sb, SEARCHED, SANDBOX_UNIT_DIR), before, 'no file or directory left behind');
      assert.notEqual((await sb.exec(['getent', 'passwd', 'systemd-heartbeat'])).code, 0, 'the user is gone');
      assert.notEqual((await sb.exec(['getent', 'group', 'systemd-heartbeat'])).code, 0, 'its group is gone');
      await unlinkUnits(sb);
      for (const unit of UNITS) {
        assert.equal((await ok(sb, ['systemctl', 'show', '-p', 'LoadState', '--value', unit])).trim(), 'not-found', unit);
      }
    });
  });
});

/** [ms, value] samples of hb-oneshot.service's starts counter, oldest first. */
async function startsTotal(vm: Victoria, host: string): Promise<Array<[number, number]>> {
  await vm.flush();
  const series = await vm.exportRaw(`systemd_unit_starts_total{host="${host}",unit="hb-oneshot.service"}`);
  return series.flatMap((s) => s.timestamps.map((t, i) => [t, s.values[i] as number] as [number, number])).sort((a, b) => a[0] - b[0]);
}

/**
 * The sandbox's systemd loads units from its own directory only (SYSTEMD_UNIT_PATH in launch.sh,
 * so that none of the host's vendor units, with their .wants/ links, can start inside). Links
 * there to the package's two units put them on its path as /usr/lib/systemd/system is on a
 * host's; the package's files themselves stay where dpkg puts them. The links are the test's,
 * not the package's: left out of the search for leftovers and removed at the end.
 */
async function linkUnits(sb: Sandbox): Promise<void> {
  for (const unit of UNITS) await ok(sb, ['ln', '-s', `/usr/lib/systemd/system/${unit}`, `${SANDBOX_UNIT_DIR}/${unit}`]);
  await ok(sb, ['systemctl', 'daemon-reload']);
}

async function unlinkUnits(sb: Sandbox): Promise<void> {
  for (const unit of UNITS) await ok(sb, ['rm', '-f', `${SANDBOX_UNIT_DIR}/${unit}`]);
  await ok(sb, ['systemctl', 'daemon-reload']);
}
