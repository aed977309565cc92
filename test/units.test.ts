/**
 * The shipped units are what `install` renders (UPDATE_GOLDEN=1 rewrites systemd/*), and they
 * pass systemd's own checks: `systemd-analyze verify` without a warning, and
 * `systemd-analyze security --offline=true` at an exposure of at most 1.1. Both run offline
 * (no systemd as PID 1 needed); they skip where systemd-analyze is not installed.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { renderService, renderTimer, SERVICE, TIMER, type ServiceOptions } from '../src/install/units.ts';
import { skipReason } from './support/cli.ts';

const SHIPPED_DIR = new URL('../systemd/', import.meta.url);
/** What the shipped service says; `install` writes the same with this host's node path. */
export const SHIPPED_SERVICE_OPTIONS: ServiceOptions = {
  scope: 'system',
  nodePath: '/usr/bin/node',
  bundlePath: '/usr/local/lib/systemd-heartbeat/systemd-heartbeat.cjs',
};
const MAX_EXPOSURE = 1.1;

function analyzeUnavailable(): string | undefined {
  const r = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : 'systemd-analyze is not installed';
}

function checkShipped(name: string, expected: string): void {
  const url = new URL(name, SHIPPED_DIR);
  let current: string | undefined;
  try {
    current = readFileSync(url, 'utf8');
  } catch {
    current = undefined;
  }
  if (process.env.UPDATE_GOLDEN === '1' && current !== expected) {
    writeFileSync(url, expected);
    return;
  }
  assert.equal(current, expected, `systemd/${name} is what install renders (UPDATE_GOLDEN=1 rewrites it)`);
}

test('the shipped units are the rendered ones', () => {
  checkShipped(SERVICE, renderService(SHIPPED_SERVICE_OPTIONS));
  checkShipped(TIMER, renderTimer({ intervalSeconds: 30 }));
});

/** Copies of the shipped units whose ExecStart names this machine's node and a bundle that exists. */
function renderedCopies(): { dir: string; service: string; timer: string } {
  const dir = mkdtempSync(join(tmpdir(), 'hb-units-'));
  const bundle = join(dir, 'systemd-heartbeat.cjs');
  writeFileSync(bundle, '');
  const service = join(dir, SERVICE);
  const timer = join(dir, TIMER);
  const shipped = readFileSync(new URL(SERVICE, SHIPPED_DIR), 'utf8');
  const execStart = `ExecStart=${SHIPPED_SERVICE_OPTIONS.nodePath} ${SHIPPED_SERVICE_OPTIONS.bundlePath}`;
  assert.ok(shipped.includes(execStart));
  writeFileSync(service, shipped.replace(execStart, `ExecStart=${process.execPath} ${bundle}`));
  writeFileSync(timer, readFileSync(new URL(TIMER, SHIPPED_DIR), 'utf8'));
  return { dir, service, timer };
}

test('systemd-analyze verify passes on both units, without a warning', { skip: skipReason(analyzeUnavailable()) }, () => {
  const { dir, service, timer } = renderedCopies();
  try {
    const r = spawnSync('systemd-analyze', ['verify', service, timer], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', 'verify prints nothing: no unknown key, no bad value');
    // The check itself can fail: a misspelt key is reported.
    writeFileSync(service, readFileSync(service, 'utf8').replace('NoNewPrivileges=yes', 'NoNewPrivilege=yes'));
    const bad = spawnSync('systemd-analyze', ['verify', service, timer], { encoding: 'utf8', timeout: 60_000 });
    assert.match(bad.stderr, /Unknown key 'NoNewPrivilege'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`systemd-analyze security --offline=true rates the service at most ${MAX_EXPOSURE}`, {
  skip: skipReason(analyzeUnavailable()),
}, () => {
  const { dir, service } = renderedCopies();
  try {
    // Exit code 0 although the table has ✗ rows: the status is only about --threshold.
    const out = execFileSync('systemd-analyze', ['security', '--offline=true', '--no-pager', service], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    const m = /Overall exposure level for \S+: (\d+(?:\.\d+)?) /.exec(out);
    assert.ok(m, `an exposure line in:\n${out}`);
    const exposure = Number(m[1]);
    assert.ok(exposure <= MAX_EXPOSURE, `exposure ${exposure} > ${MAX_EXPOSURE}:\n${out}`);
    // --threshold is in tenths; the same bound as a pass/fail exit code.
    const r = spawnSync('systemd-analyze', ['security', '--offline=true', `--threshold=${MAX_EXPOSURE * 10}`, service], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0);
    // And the measurement can fail: the unhardened minimum rates far above the bound.
    writeFileSync(service, `[Service]\nType=oneshot\nExecStart=${process.execPath} ${join(dir, 'systemd-heartbeat.cjs')}\n`);
    const weak = execFileSync('systemd-analyze', ['security', '--offline=true', '--no-pager', service], { encoding: 'utf8' });
    assert.ok(Number(/Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(weak)?.[1]) > MAX_EXPOSURE);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the user units install renders pass systemd-analyze --user verify', { skip: skipReason(analyzeUnavailable()) }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'hb-user-units-'));
  try {
    const runtime = join(dir, 'runtime');
    mkdirSync(runtime, { mode: 0o700 });
    const bundle = join(dir, 'systemd-heartbeat.cjs');
    writeFileSync(bundle, '');
    const service = join(dir, SERVICE);
    const timer = join(dir, TIMER);
    writeFileSync(
      service,
      renderService({ scope: 'user', nodePath: process.execPath, bundlePath: bundle, userTokenPath: join(dir, 'otlp-token') }),
    );
    writeFileSync(timer, renderTimer({ intervalSeconds: 30 }));
    // The user manager's paths come from XDG_RUNTIME_DIR and HOME: point both into the temp dir.
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', XDG_RUNTIME_DIR: runtime, HOME: dir };
    const r = spawnSync('systemd-analyze', ['--user', 'verify', service, timer], { encoding: 'utf8', env, timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
