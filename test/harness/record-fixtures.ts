/**
 * Records real systemd 252 output from the sandbox into test/fixtures/systemd-252/, with the
 * exporter's exact systemctl calls (LIST_UNITS_ARGS, showArgs(SHOW_PROPERTIES)). Run by hand:
 *
 *   node --import tsx test/harness/record-fixtures.ts [OUTDIR]
 *
 * Each file starts with `# ` header lines (systemd version, exact command, both clocks at capture)
 * that test/support/replay.ts's stripHeader() drops. Review the diff before committing.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LIST_UNITS_ARGS, showArgs } from '../../src/systemd/collect.ts';
import { USER_RUNTIME_DIR, bootSandbox, type Sandbox } from './sandbox.ts';

const OUT = process.argv[2] ?? fileURLToPath(new URL('../fixtures/systemd-252/', import.meta.url));

/** Every fixture unit, plus the masked one, one that does not exist and the escaped instance. */
export const RECORDED_SYSTEM_UNITS = [
  'hb-ok.service',
  'hb-crashloop.service',
  'hb-oneshot.service',
  'hb-tick.timer',
  'hb-failed.service',
  'hb-stale.service',
  'hb-stale.timer',
  'hb-inst@a\\x2db.service',
  'hb-masked.service',
  'hb-missing.service',
];
/** hb-ok.service is a system unit: the user manager reports it not-found. */
export const RECORDED_USER_UNITS = ['hb-user.service', 'hb-ok.service'];

/** The environment the exporter's systemctl edge gives its child (src/systemd/systemctl.ts). */
const EDGE_ENV = { LC_ALL: 'C', TZ: 'UTC', SYSTEMD_PAGER: '', SYSTEMD_COLORS: '0' };

async function systemctl(sb: Sandbox, scope: 'system' | 'user', args: readonly string[]): Promise<{ argv: string[]; stdout: string }> {
  const argv = ['systemctl', `--${scope}`, '--no-pager', ...args];
  const r = await sb.exec(argv, { env: scope === 'user' ? { ...EDGE_ENV, XDG_RUNTIME_DIR: USER_RUNTIME_DIR } : EDGE_ENV });
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return { argv, stdout: r.stdout };
}

function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

async function main(): Promise<void> {
  const sb = await bootSandbox();
  try {
    await sb.startUserManager();
    // a state worth recording: the crash loop has restarted a few times, the 2 s timer has fired
    await sb.waitFor(
      async () => Number((await systemctl(sb, 'system', ['show', '-p', 'NRestarts', '--value', 'hb-crashloop.service'])).stdout) >= 2,
      'hb-crashloop.service to restart twice',
      20_000,
    );
    const version = (await sb.exec(['/usr/lib/systemd/systemd', '--version'])).stdout.split('\n')[0] ?? '';
    mkdirSync(OUT, { recursive: true });
    const record = async (file: string, scope: 'system' | 'user', args: readonly string[]): Promise<void> => {
      const { argv, stdout } = await systemctl(sb, scope, args);
      const monotonicUs = process.hrtime.bigint() / 1000n; // CLOCK_MONOTONIC is not namespaced: systemd's clock too
      const header = [
        `# ${version}, recorded by test/harness/record-fixtures.ts in the sandbox (test/harness) at ${new Date().toISOString()}`,
        `# command: ${Object.entries(EDGE_ENV)
          .map(([k, v]) => `${k}=${shellQuote(v)}`)
          .join(' ')} ${argv.map(shellQuote).join(' ')}`,
        `# clocks right after it: realtime_us=${Date.now() * 1000} monotonic_us=${monotonicUs}`,
      ];
      writeFileSync(join(OUT, file), `${header.join('\n')}\n${stdout}`);
      console.log(`wrote ${join(OUT, file)}`);
    };
    await record('list-units-all-output-json.txt', 'system', LIST_UNITS_ARGS);
    await record('list-units-failed-output-json.txt', 'system', [
      'list-units',
      '--state=failed',
      '--full',
      '--plain',
      '--no-legend',
      '--output=json',
    ]);
    await record('show-props-timestamp-unix.txt', 'system', showArgs(RECORDED_SYSTEM_UNITS));
    await record('user-list-units-all-output-json.txt', 'user', LIST_UNITS_ARGS);
    await record('user-show-props-timestamp-unix.txt', 'user', showArgs(RECORDED_USER_UNITS));
  } finally {
    await sb.stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
