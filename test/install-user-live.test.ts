/**
 * `install --user` in a real systemd 252 user manager (the isolated sandbox, sharing the host's
 * network): the user timer fires every 2 s, each run reads the user manager (`--user`) and
 * pushes to a real VictoriaMetrics with the host label `<hostname>/user-<name>`, so it cannot
 * collide with a system exporter; `uninstall --user` leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { USER_CONFIG_HOME, USER_RUNTIME_DIR, bootSandbox, sandboxUnavailable, type Sandbox } from './harness/sandbox.ts';
import { CLI, skipReason } from './support/cli.ts';
import { startVictoria, victoriaUnavailable } from './support/victoria.ts';
import { commandRunner } from './support/installed.ts';

const skip = skipReason(sandboxUnavailable() ?? victoriaUnavailable());
const ENV = { HOME: '/root', XDG_CONFIG_HOME: USER_CONFIG_HOME, XDG_RUNTIME_DIR: USER_RUNTIME_DIR };

const ok = commandRunner(60_000, ENV);

test("install --user: the user timer pushes the user manager's units; uninstall --user leaves nothing", {
  skip,
  timeout: 180_000,
}, async () => {
  const vm = await startVictoria();
  let sb: Sandbox | undefined;
  try {
    sb = await bootSandbox({ hostNetwork: true });
    await sb.startUserManager();
    const files = async (): Promise<string[]> =>
      (
        await ok(sb as Sandbox, [
          'sh',
          '-c',
          `find ${USER_CONFIG_HOME} /root/.local /root/.config -name '*systemd-heartbeat*' 2>/dev/null; true`,
        ])
      )
        .split('\n')
        .filter((l) => l !== '')
        .sort();
    await sb.writeFile(
      `${USER_CONFIG_HOME}/systemd-heartbeat/environment`,
      `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=${vm.otlpUrl}\nSYSTEMD_HEARTBEAT_UNITS=hb-user.service,systemd-heartbeat.timer\n`,
    );
    const before = await files();

    const install = await ok(sb, ['node', CLI, 'install', '--user', '--interval', '2s']);
    assert.match(install, /loginctl enable-linger/, 'the linger hint for headless hosts');
    const hostname = (await ok(sb, ['hostname'])).trim();
    const host = `${hostname}/user-root`;
    await sb.waitFor(
      async () => {
        await vm.flush();
        const [beats] = await vm.exportRaw(`systemd_heartbeat_last_run_timestamp_seconds{host="${host}"}`);
        return (beats?.values.length ?? 0) >= 3;
      },
      'three runs of the user timer pushed',
      60_000,
    );
    const active = await vm.query(`systemd_unit_active{host="${host}",unit="hb-user.service"}`);
    assert.deepEqual(
      active.map((s) => s.value),
      [1],
      'a user-manager unit, read with --user',
    );
    const interval = await vm.query(`systemd_timer_interval_seconds{host="${host}",unit="systemd-heartbeat.timer"}`);
    assert.deepEqual(
      interval.map((s) => s.value),
      [2],
    );
    const errors = await vm.query(`systemd_heartbeat_collect_errors{host="${host}"}`);
    assert.deepEqual(
      errors.map((s) => s.value),
      [0],
    );
    assert.deepEqual(await vm.series(`{host="${hostname}"}`), [], "nothing under the system exporter's host label");

    const uninstall = await ok(sb, ['node', CLI, 'uninstall', '--user']);
    assert.match(uninstall, /left in place \(yours\):.*environment/s);
    assert.deepEqual(
      (await files()).filter((f) => !before.includes(f)),
      [],
      'no file or directory of the install left behind',
    );
    const load = (await ok(sb, ['systemctl', '--user', 'show', '-p', 'LoadState', '--value', 'systemd-heartbeat.timer'])).trim();
    assert.equal(load, 'not-found');
  } finally {
    await sb?.stop();
    await vm.stop();
  }
});
