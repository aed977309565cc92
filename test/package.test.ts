/**
 * `npm run package` (scripts/package.ts): the .deb holds what a host needs and nothing made on
 * the build machine (no code cache), its control data says what it needs, and Debian's lintian
 * (bookworm's, from scripts/fetch-bookworm.sh, run in a private mount namespace) reports no error.
 * What it does when installed: test/package-live.test.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO, assertBuilt, skipReason } from './support/cli.ts';

const LINTIAN = join(REPO, '.cache/lintian');

function sh(argv: string[], timeout = 120_000): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', timeout, cwd: REPO });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
}

function unavailable(): string | undefined {
  if (sh(['sh', '-c', 'command -v dpkg-deb']).code !== 0) return 'dpkg-deb is missing';
  return undefined;
}

describe('npm run package', { skip: skipReason(unavailable()) }, () => {
  let out: string;
  let deb: string;
  before(() => {
    assertBuilt();
    out = mkdtempSync(join(tmpdir(), 'hb-package-'));
    const r = sh([process.execPath, '--import', 'tsx', 'scripts/package.ts', '--no-build', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    deb = r.stdout.trim();
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  test('dist/systemd-heartbeat_<version>_all.deb: the files a host needs, no code cache', () => {
    const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
    assert.equal(deb, join(out, `systemd-heartbeat_${version}_all.deb`));
    const listing = sh(['dpkg-deb', '--contents', deb]).stdout;
    const files = listing
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('d'))
      .map((l) => l.split(/\s+/).slice(5).join(' ').replace(/^\./, ''))
      .sort();
    assert.deepEqual(files, [
      '/etc/default/systemd-heartbeat',
      '/usr/bin/systemd-heartbeat',
      '/usr/lib/systemd-heartbeat/make-code-cache.cjs',
      '/usr/lib/systemd-heartbeat/systemd-heartbeat.cjs',
      '/usr/lib/systemd/system/systemd-heartbeat.service',
      '/usr/lib/systemd/system/systemd-heartbeat.timer',
      '/usr/lib/sysusers.d/systemd-heartbeat.conf',
      '/usr/share/doc/systemd-heartbeat/README.md.gz',
      '/usr/share/doc/systemd-heartbeat/RUNBOOK.md.gz',
      '/usr/share/doc/systemd-heartbeat/changelog.gz',
      '/usr/share/doc/systemd-heartbeat/copyright',
      '/usr/share/lintian/overrides/systemd-heartbeat',
      '/usr/share/man/man1/systemd-heartbeat.1.gz',
      '/usr/share/systemd-heartbeat/alerts/systemd-heartbeat.rules.yml',
      '/usr/share/systemd-heartbeat/dashboards/provisioning/dashboards/systemd-heartbeat.yaml',
      '/usr/share/systemd-heartbeat/dashboards/provisioning/datasources/victoriametrics.example.yaml',
      '/usr/share/systemd-heartbeat/dashboards/systemd-heartbeat.json',
    ]);
    assert.match(listing, /^-rw-r--r-- root\/root .* \.\/etc\/default\/systemd-heartbeat$/m);
    assert.match(listing, /^-rwxr-xr-x root\/root .* \.\/usr\/bin\/systemd-heartbeat$/m);
  });

  test('control: Depends on nodejs >= 18.19, the environment file is a conffile of comments, the unit runs /usr/bin/node', () => {
    const field = (name: string): string => sh(['dpkg-deb', '--field', deb, name]).stdout.trim();
    assert.equal(field('Package'), 'systemd-heartbeat');
    assert.equal(field('Architecture'), 'all');
    assert.equal(field('Depends'), 'nodejs (>= 18.19), systemd');
    assert.equal(sh(['dpkg-deb', '--info', deb, 'conffiles']).stdout, '/etc/default/systemd-heartbeat\n');
    const file = (path: string): string => sh(['sh', '-c', `dpkg-deb --fsys-tarfile "$1" | tar -xO ".${path}"`, 'sh', deb]).stdout;
    const env = file('/etc/default/systemd-heartbeat');
    assert.ok(env.length > 0);
    assert.deepEqual(
      env.split('\n').filter((l) => l !== '' && !l.startsWith('#')),
      [],
      'every line a comment',
    );
    const service = file('/usr/lib/systemd/system/systemd-heartbeat.service');
    assert.match(service, /^ExecStart=\/usr\/bin\/node \/usr\/lib\/systemd-heartbeat\/systemd-heartbeat\.cjs$/m);
    assert.match(service, /^EnvironmentFile=-\/etc\/default\/systemd-heartbeat$/m);
    assert.match(service, /^User=systemd-heartbeat$/m);
    assert.match(file('/usr/lib/systemd/system/systemd-heartbeat.timer'), /^WantedBy=timers\.target$/m);
    assert.match(file('/usr/lib/sysusers.d/systemd-heartbeat.conf'), /^u systemd-heartbeat - /m);
  });

  test('lintian (Debian 12) reports no error and no warning', {
    skip: skipReason(existsSync(join(LINTIAN, '.installed')) ? undefined : 'run scripts/fetch-bookworm.sh lintian'),
  }, () => {
    const r = sh(['bash', 'scripts/in-bookworm-root.sh', LINTIAN, 'lintian', '--info', deb]);
    const tags = r.stdout.split('\n').filter((l) => /^[EWI]: /.test(l));
    assert.deepEqual(
      tags.filter((l) => /^[EW]: /.test(l)),
      [],
      r.stdout,
    );
    assert.equal(r.code, 0, `lintian exited ${r.code}: ${r.stderr}`);
  });
});
