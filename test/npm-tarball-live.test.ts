/**
 * The npm tarball, live in the isolated real systemd 252 (test/harness): `npm pack` of the built
 * tree, `npm install -g --offline` of it inside the sandbox's root (offline: it must need nothing
 * from a registry, no build, no dependency), then `systemd-heartbeat install` from the command npm
 * put on PATH: the timer pushes to a real VictoriaMetrics as the service user with 0 collect
 * errors, with a code cache install made for this node; `uninstall` and `npm uninstall -g` leave
 * no file, unit or user behind.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { bootSandbox, sandboxUnavailable, type Sandbox } from './harness/sandbox.ts';
import { REPO, assertBuilt, skipReason } from './support/cli.ts';
import { startVictoria, victoriaUnavailable, type Victoria } from './support/victoria.ts';
import { commandRunner, filesNamedLikeUs, runStamps } from './support/installed.ts';

const skip = skipReason(sandboxUnavailable() ?? victoriaUnavailable());
const SEARCHED = ['/etc', '/usr', '/var/lib', '/run', '/tmp', '/root'];

const ok = commandRunner(120_000);

test('npm install -g of the tarball, then systemd-heartbeat install: pushes as the service user; uninstall leaves nothing', {
  skip,
  timeout: 300_000,
}, async () => {
  assertBuilt();
  const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
  const out = mkdtempSync(join(tmpdir(), 'hb-npm-pack-'));
  let vm: Victoria | undefined;
  let sb: Sandbox | undefined;
  try {
    // The bundle npm test built; --ignore-scripts: prepack would build it again under the other tests' feet.
    const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--pack-destination', out], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(pack.status, 0, pack.stderr);
    const tarball = `systemd-heartbeat-${version}.tgz`;
    const listing = spawnSync('tar', ['-tzf', join(out, tarball)], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean)
      .sort();
    assert.ok(
      listing.includes('package/dist/systemd-heartbeat.cjs') && listing.includes('package/dist/make-code-cache.cjs'),
      listing.join('\n'),
    );
    assert.ok(!listing.some((f) => f.endsWith('.code-cache')), 'no code cache made by the packing node');

    [vm, sb] = await Promise.all([startVictoria(), bootSandbox({ hostNetwork: true })]);
    await ok(sb, ['mount', '--make-rshared', '/']); // as on a real host; see install-live.test.ts
    await sb.writeFile(`/root/${tarball}`, readFileSync(join(out, tarball)));
    await sb.writeFile(
      '/etc/default/systemd-heartbeat',
      `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=${vm.otlpUrl}\nSYSTEMD_HEARTBEAT_UNITS=hb-ok.service,systemd-heartbeat.timer\n`,
    );
    const before = await filesNamedLikeUs(ok, sb, SEARCHED);

    const added = await ok(sb, ['npm', 'install', '-g', '--offline', '--no-audit', '--no-fund', `/root/${tarball}`]);
    assert.match(added, /added 1 package/, 'the tarball alone, no dependency');
    const bin = (await ok(sb, ['sh', '-c', 'command -v systemd-heartbeat'])).trim();
    assert.equal((await ok(sb, [bin, '--version'])).trim(), `systemd-heartbeat ${version}`);

    const install = await ok(sb, [bin, 'install', '--interval', '2s']);
    assert.match(install, /enabled and started systemd-heartbeat\.timer \(every 2s\)/);
    const header = (await ok(sb, ['head', '-n', '1', '/usr/local/lib/systemd-heartbeat/systemd-heartbeat.code-cache'])).trim();
    const node = (await ok(sb, ['node', '--version'])).trim();
    assert.match(header, new RegExp(`^[0-9a-f]{16} ${node.replace(/\./g, '\\.')} `), 'a code cache made by the node the unit runs');

    const hostname = (await ok(sb, ['hostname'])).trim();
    await sb.waitFor(async () => (await runStamps(vm as Victoria, hostname)).length >= 3, 'three runs pushed by the timer', 60_000);
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
    const uid = (await ok(sb, ['id', '-u', 'systemd-heartbeat'])).trim();
    const owners = (await ok(sb, ['find', '/var/lib/private/systemd-heartbeat', '-printf', '%U\n'])).trim().split('\n');
    assert.ok(owners.length > 1 && owners.every((o) => o === uid), `state files owned by ${uid}: ${owners.join(',')}`);

    const uninstall = await ok(sb, [bin, 'uninstall']);
    assert.match(uninstall, /removed user systemd-heartbeat/);
    await ok(sb, ['npm', 'uninstall', '-g', '--offline', 'systemd-heartbeat']);
    assert.deepEqual(await filesNamedLikeUs(ok, sb, SEARCHED), before, 'no file or directory left behind');
    for (const unit of ['systemd-heartbeat.timer', 'systemd-heartbeat.service']) {
      assert.equal((await ok(sb, ['systemctl', 'show', '-p', 'LoadState', '--value', unit])).trim(), 'not-found', unit);
    }
    assert.notEqual((await sb.exec(['getent', 'passwd', 'systemd-heartbeat'])).code, 0, 'the user is gone');
  } catch (error) {
    if (sb) (error as Error).message += `\n--- sandbox log (tail) ---\n${sb.log().slice(-3000)}`;
    throw error;
  } finally {
    await sb?.stop();
    await vm?.stop();
    rmSync(out, { recursive: true, force: true });
  }
});
