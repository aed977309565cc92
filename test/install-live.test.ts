/**
 * `install` in a real systemd 252 (the isolated sandbox, sharing the host's network): the timer
 * fires every 2 s, each run pushes to a real VictoriaMetrics on the host as the static
 * non-root service user, reads unit state over D-Bus without an error, picks up an optional
 * bearer-token credential; MemoryDenyWriteExecute=yes is measured to break node; `uninstall`
 * leaves no unit, file, directory or user behind.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bootSandbox, sandboxUnavailable, type Sandbox } from './harness/sandbox.ts';
import { CLI, skipReason } from './support/cli.ts';
import { startVictoria, victoriaUnavailable } from './support/victoria.ts';
import { commandRunner, filesNamedLikeUs, runStamps } from './support/installed.ts';

const skip = skipReason(sandboxUnavailable() ?? victoriaUnavailable());

/** Where anything install or a run creates could land; searched before and after. */
const SEARCHED = ['/etc', '/usr/local', '/var/lib', '/run', '/tmp', '/var/tmp'];

const ok = commandRunner(60_000);

test('install: timer fires, pushes arrive as a non-root user; MDWE breaks node; uninstall leaves nothing', {
  skip,
  timeout: 240_000,
}, async () => {
  const vm = await startVictoria();
  let sb: Sandbox | undefined;
  try {
    sb = await bootSandbox({ hostNetwork: true });
    // Real hosts boot with / shared (systemd's mount_setup); in the sandbox systemd thinks it is
    // in a container and leaves it private, so the credentials mount it makes in a child
    // namespace never reaches PID 1's (/run/credentials/<unit> stays an empty root-only dir).
    await ok(sb, ['mount', '--make-rshared', '/']);
    await sb.writeFile(
      '/etc/default/systemd-heartbeat',
      `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=${vm.otlpUrl}\nSYSTEMD_HEARTBEAT_UNITS=hb-ok.service,systemd-heartbeat.timer\n`,
    );
    const before = await filesNamedLikeUs(ok, sb, SEARCHED);

    const install = await ok(sb, ['node', CLI, 'install', '--interval', '2s']);
    assert.match(install, /enabled and started systemd-heartbeat\.timer \(every 2s\)/);
    await sb.waitFor(async () => (await runStamps(vm)).length >= 3, 'three runs pushed by the timer', 60_000);

    // Every run read systemd over D-Bus without an error, as the static system user.
    const hostname = (await ok(sb, ['hostname'])).trim();
    const errors = await vm.query(`systemd_heartbeat_collect_errors{host="${hostname}"}`);
    assert.deepEqual(
      errors.map((s) => s.value),
      [0],
    );
    const active = await vm.query('systemd_unit_active{unit="hb-ok.service"}');
    assert.deepEqual(
      active.map((s) => [s.metric.host, s.value]),
      [[hostname, 1]],
    );
    const interval = await vm.query('systemd_timer_interval_seconds{unit="systemd-heartbeat.timer"}');
    assert.deepEqual(
      interval.map((s) => s.value),
      [2],
      'the timer reports its own 2 s period',
    );
    const uid = Number((await ok(sb, ['id', '-u', 'systemd-heartbeat'])).trim());
    assert.ok(uid > 0 && uid < 1000, `a system uid: ${uid}`);
    // Files the exporter wrote in its StateDirectory= are owned by the user it ran as.
    const owners = (await ok(sb, ['find', '/var/lib/private/systemd-heartbeat', '-printf', '%U\n'])).trim().split('\n');
    assert.ok(owners.length > 0 && owners.every((o) => Number(o) === uid), `state files owned by ${uid}: ${owners.join(',')}`);

    // An optional token: LoadCredential= finds it in the credstore and the runs go on pushing.
    await sb.writeFile('/etc/credstore/systemd-heartbeat.otlp-token', 'test-token\n', 0o600);
    const withToken = (await runStamps(vm)).length;
    await sb.waitFor(async () => (await runStamps(vm)).length >= withToken + 2, 'two more runs with the credential present', 60_000);
    await ok(sb, ['rm', '/etc/credstore/systemd-heartbeat.otlp-token']);

    // Measured, not assumed: V8 cannot start under MemoryDenyWriteExecute=yes (it remaps its
    // embedded builtins executable), while the same unit without it succeeds.
    await ok(sb, ['systemctl', 'stop', 'systemd-heartbeat.timer']);
    await sb.writeFile('/etc/systemd/system/systemd-heartbeat.service.d/mdwe.conf', '[Service]\nMemoryDenyWriteExecute=yes\n');
    await ok(sb, ['systemctl', 'daemon-reload']);
    const mdwe = await sb.systemctl(['start', 'systemd-heartbeat.service']);
    assert.notEqual(mdwe.code, 0, 'node fails under MemoryDenyWriteExecute=yes');
    const journal = await ok(sb, ['journalctl', '-u', 'systemd-heartbeat.service', '-o', 'cat', '--no-pager', '-n', '60']);
    assert.match(journal, /SetPermissions|Fatal|Check failed/);
    await ok(sb, ['rm', '-r', '/etc/systemd/system/systemd-heartbeat.service.d']);
    await ok(sb, ['systemctl', 'daemon-reload']);
    assert.equal((await sb.systemctl(['start', 'systemd-heartbeat.service'])).code, 0, 'the same unit without it works');

    const uninstall = await ok(sb, ['node', CLI, 'uninstall']);
    assert.match(uninstall, /removed user systemd-heartbeat/);
    assert.match(uninstall, /left in place \(yours\): \/etc\/default\/systemd-heartbeat/);
    assert.deepEqual(await filesNamedLikeUs(ok, sb, SEARCHED), before, 'no file or directory left behind');
    for (const unit of ['systemd-heartbeat.timer', 'systemd-heartbeat.service']) {
      assert.equal((await ok(sb, ['systemctl', 'show', '-p', 'LoadState', '--value', unit])).trim(), 'not-found', unit);
    }
    assert.notEqual((await sb.exec(['getent', 'passwd', 'systemd-heartbeat'])).code, 0, 'the user is gone');
    assert.notEqual((await sb.exec(['getent', 'group', 'systemd-heartbeat'])).code, 0, 'its group is gone');
    // And the timer no longer runs anything: no new stamps after a few periods.
    const after = (await runStamps(vm)).length;
    await new Promise((r) => setTimeout(r, 5_000));
    assert.equal((await runStamps(vm)).length, after);
  } catch (error) {
    if (sb) (error as Error).message += `\n--- sandbox log (tail) ---\n${sb.log().slice(-3000)}`;
    throw error;
  } finally {
    await sb?.stop();
    await vm.stop();
  }
});
