/**
 * A tick shows only what may have changed (src/systemd/changes.ts), live: in the isolated real
 * systemd 252 the BUILT CLI ticks on one state directory, pushing to a real VictoriaMetrics,
 * through a systemctl that logs its arguments. Between two ticks a unit is restarted (same
 * state, a new invocation), a oneshot runs and ends, a reload fails, a start is skipped by its
 * condition and a unit is stopped: the next tick shows exactly those, and the records it keeps are
 * what `systemctl show` says of each. A quiet tick shows none of them; a timer that elapsed is
 * shown by the next tick for being due. `reset-failed` on an active unit is seen only at the
 * periodic full show.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bootSandbox, sandboxUnavailable, type Sandbox } from './harness/sandbox.ts';
import { CLI, assertBuilt, skipReason } from './support/cli.ts';
import { startVictoria, victoriaUnavailable, type Victoria } from './support/victoria.ts';

const reason = skipReason(sandboxUnavailable() ?? victoriaUnavailable());

const STATE = '/var/tmp/hb-changes-state';
const LOG = '/var/tmp/systemctl-calls.log';
const WRAPPER = '/var/tmp/systemctl-logged';
const STEADY = [
  'hb-steady.service',
  'hb-restarted.service',
  'hb-once.service',
  'hb-reload.service',
  'hb-skip.service',
  'hb-stopped.service',
];
const UNITS = [...STEADY, 'hb-hourly.timer'];

const EXTRA_UNITS: Record<string, string> = {
  'hb-hourly.timer': '[Timer]\nOnActiveSec=1h\nOnUnitActiveSec=1h\n',
  'hb-hourly.service': '[Service]\nType=oneshot\nExecStart=/bin/true\n',
  // Elapses every 2 s. (Into a unit that is still active, a 252 timer stays `running` with no next
  // elapse until the unit stops: list-units tells that one; measured here.)
  'hb-often.timer': '[Timer]\nOnCalendar=*:*:0/2\nAccuracySec=100ms\n',
  'hb-often.service': '[Service]\nType=oneshot\nExecStart=/bin/true\n',
  'hb-steady.service': '[Service]\nExecStart=/bin/sleep infinity\n',
  'hb-restarted.service': '[Service]\nExecStart=/bin/sleep infinity\n',
  'hb-stopped.service': '[Service]\nExecStart=/bin/sleep infinity\n',
  'hb-once.service': '[Service]\nType=oneshot\nExecStart=/bin/true\n',
  'hb-reload.service': '[Service]\nExecStart=/bin/sleep infinity\nExecReload=/bin/false\n',
  'hb-skip.service': '[Unit]\nConditionPathExists=/var/tmp/never\n[Service]\nType=oneshot\nExecStart=/bin/true\n',
  // Fails once, then runs: NRestarts=1, for reset-failed to clear silently.
  'hb-flaky.service':
    '[Service]\nExecStart=/bin/sh -c "test -e /var/tmp/flaky-ran && exec sleep infinity; touch /var/tmp/flaky-ran; exit 1"\nRestart=always\nRestartSec=100ms\n',
};

const BOOT_UNITS = ['hb-steady.service', 'hb-restarted.service', 'hb-stopped.service', 'hb-reload.service', 'hb-flaky.service'];

describe('only what changed is shown, live: real systemd 252 -> built CLI -> real VictoriaMetrics', { skip: reason }, () => {
  let sb: Sandbox | undefined;
  let vm: Victoria | undefined;
  before(async () => {
    assertBuilt();
    [sb, vm] = await Promise.all([bootSandbox({ extraUnits: EXTRA_UNITS, bootUnits: BOOT_UNITS }), startVictoria()]);
    await sb.writeFile(WRAPPER, `#!/bin/sh\necho "$*" >> ${LOG}\nexec /usr/bin/systemctl "$@"\n`, 0o755);
  });
  after(async () => {
    await Promise.all([sb?.stop(), vm?.stop()]);
  });

  test('each tick shows the units that changed and keeps what systemctl show says of them; reset-failed waits for the full show', async () => {
    const box = sb as Sandbox;
    const victoria = vm as Victoria;
    const tick = async (units: readonly string[], env: Record<string, string> = {}): Promise<string[][]> => {
      await box.exec(['rm', '-f', LOG]);
      const r = await box.exec(
        [process.execPath, CLI, '--host', 'changes-live', '--endpoint', victoria.otlpUrl, ...units.flatMap((u) => ['-u', u])],
        {
          env: { SYSTEMD_HEARTBEAT_STATE_DIR: STATE, SYSTEMD_HEARTBEAT_SYSTEMCTL: WRAPPER, ...env },
          timeoutMs: 30_000,
        },
      );
      assert.equal(r.code, 0, `exporter exited ${r.code}: ${r.stderr}`);
      const calls = (await box.readFile(LOG)).trim().split('\n');
      return calls.filter((c) => / show /.test(` ${c} `)).map((c) => c.slice(c.indexOf(' -- ') + 4).split(' '));
    };
    const kept = async (): Promise<{ fullAt: number; statuses: Record<string, Record<string, unknown>> }> =>
      JSON.parse(await box.readFile(`${STATE}/show-cache.json`));
    const show = async (unit: string, property: string): Promise<string> =>
      (await box.systemctl(['show', '-p', property, '--value', unit])).stdout.trim();

    await box.waitFor(async () => (await show('hb-flaky.service', 'NRestarts')) === '1', 'hb-flaky.service restarted once');
    await box.waitFor(async () => (await show('hb-flaky.service', 'SubState')) === 'running', 'hb-flaky.service running');
    await box.systemctl(['start', 'hb-hourly.timer', 'hb-often.timer']);

    // Failed units outside the allowlist (the sandbox's hb-failed.service) are shown every tick.
    const failed = (await box.systemctl(['list-units', '--state=failed', '--plain', '--no-legend'])).stdout
      .split('\n')
      .map((l) => l.split(' ')[0] as string)
      .filter((u) => u !== '');
    const quietShows = failed.length > 0 ? [[...failed].sort()] : [];
    const first = await tick([...UNITS, 'hb-flaky.service']);
    assert.equal(first.length, 1, 'the first tick shows every unit in one call');
    assert.deepEqual([...(first[0] ?? [])].sort(), [...UNITS, 'hb-flaky.service', 'hb-hourly.service', ...failed].sort());
    const fullAt = (await kept()).fullAt;

    const quiet = await tick([...UNITS, 'hb-flaky.service']);
    assert.deepEqual(
      quiet.map((c) => [...c].sort()),
      quietShows,
      'a quiet tick shows only the failed units outside the allowlist',
    );

    const oldInvocation = await show('hb-restarted.service', 'InvocationID');
    await box.systemctl(['restart', 'hb-restarted.service']);
    assert.notEqual(await show('hb-restarted.service', 'InvocationID'), oldInvocation);
    assert.equal((await box.systemctl(['start', 'hb-once.service'])).code, 0);
    assert.notEqual((await box.systemctl(['reload', 'hb-reload.service'])).code, 0, 'the reload fails');
    assert.equal((await box.systemctl(['start', 'hb-skip.service'])).code, 0);
    await box.systemctl(['stop', 'hb-stopped.service']);

    const busy = await tick([...UNITS, 'hb-flaky.service']);
    const shownBusy = busy.flat();
    for (const unit of ['hb-restarted.service', 'hb-once.service', 'hb-reload.service', 'hb-skip.service', 'hb-stopped.service']) {
      assert.ok(shownBusy.includes(unit), `${unit} is shown after it changed: ${JSON.stringify(busy)}`);
    }
    assert.ok(!shownBusy.includes('hb-steady.service'), `the unchanged unit is not shown: ${JSON.stringify(busy)}`);
    const cache = await kept();
    assert.equal(cache.fullAt, fullAt, 'not a full show');
    const s = cache.statuses;
    assert.equal(s['hb-restarted.service']?.invocationId ?? '', await show('hb-restarted.service', 'InvocationID'));
    assert.equal(s['hb-reload.service']?.reloadResult, await show('hb-reload.service', 'ReloadResult'));
    assert.notEqual(s['hb-reload.service']?.reloadResult, 'success');
    // A start skipped by hand leaves ConditionTimestampMonotonic=0 once PID 1 lets the inactive unit go
    // (252, measured here): the journal's skipped entry is what counts it; the record is show's.
    assert.equal(s['hb-skip.service']?.activeState, await show('hb-skip.service', 'ActiveState'));
    assert.equal(s['hb-once.service']?.invocationId ?? '', await show('hb-once.service', 'InvocationID'));
    assert.equal(s['hb-stopped.service']?.activeState, 'inactive');
    assert.equal(s['hb-steady.service']?.invocationId ?? '', await show('hb-steady.service', 'InvocationID'));

    // What VictoriaMetrics holds from the partial tick is what the kept records say.
    await victoria.flush();
    const reloadFailed = await victoria.query('systemd_unit_reload_failed{host="changes-live",unit="hb-reload.service"}');
    assert.equal(reloadFailed.map((r) => String(r.value)).join(), '1');

    // reset-failed clears NRestarts of an active unit and tells no one: the kept record stands...
    assert.equal(s['hb-flaky.service']?.nRestarts, 1);
    await box.systemctl(['reset-failed', 'hb-flaky.service']);
    assert.equal(await show('hb-flaky.service', 'NRestarts'), '0');
    assert.deepEqual(
      (await tick([...UNITS, 'hb-flaky.service'])).map((c) => [...c].sort()),
      quietShows,
    );
    assert.equal((await kept()).statuses['hb-flaky.service']?.nRestarts, 1);
    // ...until the periodic full show (here after 1 s).
    await new Promise((r) => setTimeout(r, 1100));
    const full = await tick([...UNITS, 'hb-flaky.service'], { SYSTEMD_HEARTBEAT_FULL_SHOW_SECONDS: '1' });
    assert.equal(full.length, 1);
    assert.equal(full[0]?.length, UNITS.length + 2 + failed.length);
    assert.equal((await kept()).statuses['hb-flaky.service']?.nRestarts, 0);

    // As the shipped unit runs (ProcSubset=pid hides /proc/sys and the kernel's boot id): the
    // clocks tell the boot, and the second run shows only the failed units again.
    // The shipped unit's own [Service] settings (ProcSubset=pid, ProtectSystem=strict, PrivateTmp,
    // the system call filter, ...), but what starts it, its credential and its user; the call log
    // writable.
    const service = readFileSync(new URL('../systemd/systemd-heartbeat.service', import.meta.url), 'utf8');
    const settings = service
      .slice(service.indexOf('[Service]'))
      .split('\n')
      // Not who it runs as: a dynamic user cannot reach the sandbox's bus here ("Transport endpoint
      // is not connected"); pid1.ts checks that a quiet tick as an unprivileged user shows nothing.
      .filter(
        (l) =>
          /^[A-Z]\w+=/.test(l) &&
          !/^(ExecStart|EnvironmentFile|LoadCredential|StateDirectory|TimeoutStartSec|DynamicUser|User|SupplementaryGroups|PrivateUsers)=/.test(
            l,
          ),
      );
    assert.ok(settings.includes('ProcSubset=pid') && settings.includes('ProtectSystem=strict'), settings.join(' '));
    const HARDENED_STATE = '/var/lib/hb-changes-hardened';
    // PrivateTmp= hides /var/tmp: the logging systemctl and its log live in /run for this one.
    const CALLS = '/run/hb-calls';
    await box.exec(['mkdir', '-p', CALLS]);
    // PrivateTmp= hides a checkout under /tmp too (CI's): the run uses a copy of the build there.
    assert.equal((await box.exec(['cp', CLI, join(dirname(CLI), 'systemd-heartbeat.code-cache'), CALLS])).code, 0);
    await box.writeFile(`${CALLS}/systemctl`, `#!/bin/sh\necho "$*" >> ${CALLS}/log\nexec /usr/bin/systemctl "$@"\n`, 0o755);
    const hardened = async (): Promise<string[][]> => {
      await box.exec(['sh', '-c', `rm -f ${CALLS}/log && : > ${CALLS}/log && chmod 666 ${CALLS}/log`]);
      const r = await box.exec(
        [
          'systemd-run',
          '--wait',
          '--pipe',
          '--quiet',
          ...settings.flatMap((l) => ['-p', l]),
          '-p',
          'StateDirectory=hb-changes-hardened',
          '-p',
          `ReadWritePaths=${CALLS}`,
          '-E',
          `SYSTEMD_HEARTBEAT_SYSTEMCTL=${CALLS}/systemctl`,
          process.execPath,
          `${CALLS}/systemd-heartbeat.cjs`,
          '--host',
          'changes-live',
          '--endpoint',
          victoria.otlpUrl,
          ...UNITS.flatMap((u) => ['-u', u]),
        ],
        { timeoutMs: 30_000 },
      );
      // A unit of the sandbox's PID 1 has no route to the host's loopback: its push fails and is
      // spooled (exit 1); what is under test is what it read, and that it read it all.
      assert.ok(r.code === 0 || /push to \S+ failed/.test(r.stderr), `the hardened run exited ${r.code}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /could not read|warning/, r.stderr);
      const calls = (await box.readFile(`${CALLS}/log`)).trim().split('\n');
      return calls.filter((c) => / show /.test(` ${c} `)).map((c) => c.slice(c.indexOf(' -- ') + 4).split(' '));
    };
    const hidden = await box.exec([
      'systemd-run',
      '--wait',
      '--pipe',
      '--quiet',
      '-p',
      'ProcSubset=pid',
      'cat',
      '/proc/sys/kernel/random/boot_id',
    ]);
    assert.notEqual(hidden.code, 0, `ProcSubset=pid hides the boot id: ${hidden.stdout}`);
    assert.equal((await hardened()).length, 1, 'the first hardened run shows every unit');
    assert.match(JSON.parse(await box.readFile(`${HARDENED_STATE}/show-cache.json`)).bootId, /^clock:\d+$/);
    // Only the failed units outside the allowlist again, now also the transient runs above that failed.
    const failedNow = (await box.systemctl(['list-units', '--state=failed', '--plain', '--no-legend'])).stdout
      .split('\n')
      .map((l) => l.split(' ')[0] as string)
      .filter((u) => u !== '');
    assert.deepEqual(
      (await hardened()).map((c) => [...c].sort()),
      [failedNow.sort()],
      'the second shows only what changed',
    );

    // A timer is shown by the first tick after its kept next elapse, in its first show: for being
    // due, before the journal names its job's run.
    const often = [...UNITS, 'hb-flaky.service', 'hb-often.timer'];
    // A record taken while the timer's job runs has no next elapse (252 keeps a timer `running`
    // until its unit stops; list-units shows that one again): tick until the kept one has it.
    type Kept = { nextElapseRealtime?: number; lastTriggerRealtime?: number } | undefined;
    let before: Kept;
    for (let i = 0; i < 5 && !before?.nextElapseRealtime; i++) {
      await tick(often);
      before = (await kept()).statuses['hb-often.timer']?.timer as Kept;
    }
    assert.ok(before?.nextElapseRealtime, JSON.stringify(before));
    await new Promise((r) => setTimeout(r, Math.max(0, (before.nextElapseRealtime ?? 0) * 1000 - Date.now()) + 400));
    const due = await tick(often);
    assert.ok(due[0]?.includes('hb-often.timer'), `the due timer is in the first show: ${JSON.stringify(due)}`);
    const after = (await kept()).statuses['hb-often.timer']?.timer as Kept;
    assert.ok(
      (after?.lastTriggerRealtime ?? 0) > (before.lastTriggerRealtime ?? 0),
      `${JSON.stringify(before)} -> ${JSON.stringify(after)}`,
    );
  });
});
