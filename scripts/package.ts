/**
 * `npm run package`: builds dist/systemd-heartbeat_<version>_all.deb with dpkg-deb, from the
 * built bundle and the units src/install/units.ts renders (the ones `install` writes, with the
 * package's paths). Debian's own tools only; no debhelper: the maintainer scripts are what
 * dh_installsysusers and dh_installsystemd would generate for one timer, plus the code cache
 * (made on the host for the host's node, at configure and when nodejs changes; never shipped) and
 * a purge that removes the state directory and the user.
 *
 *   npm run package [-- --version 0.1.1] [--out DIR] [--no-build]
 *
 * --version stamps another version (the upgrade test builds "the next version" with it).
 * Prints the .deb's path.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DEFAULT_PERIOD_SECONDS } from '../src/defaults.ts';
import {
  BUNDLE_NAME,
  PACKAGE_SYSUSERS_PATH,
  SERVICE,
  SERVICE_USER,
  TIMER,
  renderService,
  renderSysusers,
  renderTimer,
} from '../src/install/units.ts';

const REPO = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const NAME = 'systemd-heartbeat';
export const LIB_DIR = `/usr/lib/${NAME}`;
export const MAKE_CODE_CACHE = 'make-code-cache.cjs';
export const CODE_CACHE = 'systemd-heartbeat.code-cache';
export const ENVIRONMENT_FILE = `/etc/default/${NAME}`;
const UNIT_DIR = '/usr/lib/systemd/system';
const DOC_DIR = `/usr/share/doc/${NAME}`;
const SHARE_DIR = `/usr/share/${NAME}`;
/** What a tick runs: Debian's nodejs (18.20 in Debian 12; the bundle needs 18.19, engines in package.json). */
const NODE = '/usr/bin/node';

interface Options {
  version: string;
  out: string;
  build: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
  const o: Options = { version: pkg.version, out: join(REPO, 'dist'), build: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v === '') throw new Error(`package: ${arg} needs a value`);
      return v;
    };
    if (arg === '--version') o.version = value();
    else if (arg === '--out') o.out = value();
    else if (arg === '--no-build') o.build = false;
    else throw new Error(`package: unknown argument ${arg} (--version V, --out DIR, --no-build)`);
  }
  // Debian's version syntax, native (no revision): digits first, then [A-Za-z0-9.+~].
  if (!/^[0-9][A-Za-z0-9.+~]*$/.test(o.version)) throw new Error(`package: ${JSON.stringify(o.version)} is not a native Debian version`);
  return o;
}

/** The environment file: a conffile dpkg keeps across upgrades and `dpkg -r`, all comments. */
function environmentFile(): string {
  return `# systemd-heartbeat: KEY=value lines that ${SERVICE} reads on each run (EnvironmentFile=).
# Every variable and its default: ${DOC_DIR}/README.md.gz (Usage). The next run uses a change;
# check it with: systemctl start ${SERVICE}; journalctl -u ${SERVICE} -n 5
#
# Where to push: VictoriaMetrics' OTLP path (a bare http://HOST:8428 means the same).
#OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=http://vm.example.org:8428/opentelemetry/v1/metrics
#
# The units to watch: names or globs, comma-separated (a name without a type is a service).
# Without it only failed units and the exporter's own heartbeat are pushed.
#SYSTEMD_HEARTBEAT_UNITS=k3s.service,game-*.service
#
# The host label (default: the hostname).
#SYSTEMD_HEARTBEAT_HOST=
#
# A bearer token goes in /etc/credstore/systemd-heartbeat.otlp-token (mode 0600), not here.
# Another interval than ${DEFAULT_PERIOD_SECONDS}s: \`systemctl edit ${TIMER}\` with the lines
# [Timer], OnBootSec= (empty: it resets the timer's triggers), OnBootSec=1min, OnUnitActiveSec=1min.
`;
}

function control(o: Options, installedKiB: number): string {
  return `Package: ${NAME}
Version: ${o.version}
Architecture: all
Maintainer: systemd-heartbeat maintainers <maintainers@users.noreply.b-seed-e76d2839.example>
Installed-Size: ${installedKiB}
Depends: nodejs (>= 18.19), systemd
Section: admin
Priority: optional
Description: push systemd unit and timer health to VictoriaMetrics
 A oneshot exporter that a systemd timer runs every ${DEFAULT_PERIOD_SECONDS} seconds: it reads
 the state of the units it is told to watch (active, failed, restarts,
 exit status, timers and their jobs) from systemd, pushes it once over
 OTLP/HTTP to VictoriaMetrics and exits. Runs that cannot be pushed are
 spooled and sent later.
 .
 Also ships a Grafana dashboard, vmalert rules with their runbook, and a
 daily summary command.
`;
}

function copyright(year: number): string {
  return `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: ${NAME}

Files: *
Copyright: ${year} systemd-heartbeat authors
License: MIT

Files: usr/lib/${NAME}/${BUNDLE_NAME}
Copyright: ${year} systemd-heartbeat authors
 2019-2025 OpenTelemetry Authors
License: MIT and Apache-2.0
Comment: The bundle includes the OpenTelemetry JS packages @opentelemetry/api,
 core, resources, sdk-metrics, otlp-exporter-base, otlp-transformer and
 exporter-metrics-otlp-proto (Apache-2.0).

License: MIT
 Permission is hereby granted, free of charge, to any person obtaining a copy
 of this software and associated documentation files (the "Software"), to deal
 in the Software without restriction, including without limitation the rights
 to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
 copies of the Software, and to permit persons to whom the Software is
 furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in
 all copies or substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
 THE SOFTWARE.

License: Apache-2.0
 On Debian systems, the full text of the Apache License, Version 2.0 can be
 found in the file /usr/share/common-licenses/Apache-2.0.
`;
}

function changelog(o: Options, date: Date): string {
  // RFC 5322 date, as dpkg-parsechangelog wants it.
  const stamp = date.toUTCString().replace(/GMT$/, '+0000');
  return `${NAME} (${o.version}) unstable; urgency=medium

  * Release ${o.version}: see ${DOC_DIR}/README.md.gz.

 -- systemd-heartbeat maintainers <maintainers@users.noreply.b-seed-e76d2839.example>  ${stamp}
`;
}

/** systemd-heartbeat(1): the --help text, as it is. */
function manPage(help: string, date: Date): string {
  const roff = (text: string): string => text.replace(/\\/g, '\\e').replace(/^([.'])/gm, '\\&$1');
  return `.TH SYSTEMD-HEARTBEAT 1 ${date.toISOString().slice(0, 10)} "${NAME}" "User Commands"
.SH NAME
${NAME} \\- push systemd unit and timer health to VictoriaMetrics once
.SH SYNOPSIS
.B ${NAME}
[\\fIcommand\\fR] [\\fIoptions\\fR]
.SH DESCRIPTION
Run by
.BR ${SERVICE} ,
which
.B ${TIMER}
starts every ${DEFAULT_PERIOD_SECONDS} seconds; it reads
.I ${ENVIRONMENT_FILE}
on each run.
.PP
.nf
${roff(help.trimEnd())}
.fi
.SH FILES
.TP
.I ${ENVIRONMENT_FILE}
the service's environment (KEY=value lines)
.TP
.I /var/lib/${NAME}
spool of unsent runs and remembered unit state
.SH SEE ALSO
.BR systemctl (1),
.IR ${DOC_DIR}/README.md.gz ,
.I ${DOC_DIR}/RUNBOOK.md.gz
`;
}

const q = (unit: string): string => `'${unit}'`;

/**
 * The maintainer scripts. Units and users as Debian's helpers do it (dh_installsysusers,
 * dh_installsystemd 13.11 for an enabled, started timer: deb-systemd-helper records and applies
 * the enablement, deb-systemd-invoke honours policy-rc.d), then what this package adds.
 */
function postinst(): string {
  return `#!/bin/sh
set -e

# The code cache is made here, by the node installed on this host (the bundle's first line
# names the node a cache belongs to, so one from elsewhere would only be ignored). Without it
# each run compiles the bundle: slower, same result.
make_code_cache() {
	if [ -x ${NODE} ] && ! ${NODE} ${LIB_DIR}/${MAKE_CODE_CACHE} ${LIB_DIR} >/dev/null; then
		echo "${NAME}: no code cache made; each run compiles the bundle" >&2
	fi
}

case "$1" in
	configure)
		systemd-sysusers \${DPKG_ROOT:+--root="$DPKG_ROOT"} ${PACKAGE_SYSUSERS_PATH.split('/').pop()}
		make_code_cache
		;;
	triggered)
		# nodejs was upgraded: the cache of the old node is no longer read.
		make_code_cache
		exit 0
		;;
esac

if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then
	# This will only remove masks created by d-s-h on package removal.
	deb-systemd-helper unmask ${q(TIMER)} >/dev/null || true
	# was-enabled defaults to true, so new installations run enable.
	if deb-systemd-helper --quiet was-enabled ${q(TIMER)}; then
		deb-systemd-helper enable ${q(TIMER)} >/dev/null || true
	else
		deb-systemd-helper update-state ${q(TIMER)} >/dev/null || true
	fi
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		if [ -n "$2" ]; then
			_dh_action=restart
		else
			_dh_action=start
		fi
		deb-systemd-invoke $_dh_action ${q(TIMER)} >/dev/null || true
	fi
fi

exit 0
`;
}

function prerm(): string {
  return `#!/bin/sh
set -e

if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
	deb-systemd-invoke stop ${q(TIMER)} ${q(SERVICE)} >/dev/null || true
fi

# The code cache postinst made is not a file of the package: it goes before dpkg removes the
# directory (an upgrade's postinst makes one for the new bundle).
case "$1" in
	remove|upgrade|deconfigure|failed-upgrade)
		rm -f ${LIB_DIR}/${CODE_CACHE} ${LIB_DIR}/${CODE_CACHE}.*.tmp
		;;
esac

exit 0
`;
}

function postrm(): string {
  return `#!/bin/sh
set -e

if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
	systemctl --system daemon-reload >/dev/null || true
fi

if [ "$1" = "remove" ]; then
	if [ -x "/usr/bin/deb-systemd-helper" ]; then
		deb-systemd-helper mask ${q(TIMER)} >/dev/null || true
	fi
fi

if [ "$1" = "purge" ]; then
	if [ -x "/usr/bin/deb-systemd-helper" ]; then
		deb-systemd-helper purge ${q(TIMER)} >/dev/null || true
		deb-systemd-helper unmask ${q(TIMER)} >/dev/null || true
	fi
	# What the runs kept (spool, unit state): StateDirectory= with DynamicUser=yes keeps it under
	# /var/lib/private with a symlink beside it.
	rm -rf /var/lib/${NAME} /var/lib/private/${NAME}
	# The user and group postinst created (systemd-sysusers); no file is left that they own.
	if getent passwd ${SERVICE_USER} >/dev/null; then
		userdel ${SERVICE_USER} || true
	fi
	if getent group ${SERVICE_USER} >/dev/null; then
		groupdel ${SERVICE_USER} || true
	fi
fi

exit 0
`;
}

/** dpkg file triggers: any package that changes these paths (nodejs upgrades) runs postinst triggered. */
function triggers(): string {
  return `interest-noawait ${NODE}\n`;
}

function run(argv: readonly string[], what: string): string {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd as string, args, { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0)
    throw new Error(`package: ${what} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || String(r.error)).trim()}`);
  return r.stdout;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

function main(): void {
  const o = parseArgs(process.argv.slice(2));
  if (o.build) run([process.execPath, join(REPO, 'scripts/build.mjs')], 'npm run build');
  const dist = join(REPO, 'dist');
  const stage = mkdtempSync(join(tmpdir(), 'hb-package-'));
  try {
    const put = (path: string, content: string | Buffer, mode = 0o644): void => {
      const at = join(stage, path);
      mkdirSync(dirname(at), { recursive: true, mode: 0o755 });
      writeFileSync(at, content);
      chmodSync(at, mode);
    };
    const bundle = `${LIB_DIR}/${BUNDLE_NAME}`;
    put(bundle, readFileSync(join(dist, BUNDLE_NAME)), 0o755);
    put(`${LIB_DIR}/${MAKE_CODE_CACHE}`, readFileSync(join(dist, MAKE_CODE_CACHE)));
    put(`/usr/bin/${NAME}`, `#!/bin/sh\nexec ${NODE} ${bundle} "$@"\n`, 0o755);
    put(`${UNIT_DIR}/${SERVICE}`, renderService({ scope: 'system', nodePath: NODE, bundlePath: bundle, origin: 'package' }));
    put(`${UNIT_DIR}/${TIMER}`, renderTimer({ intervalSeconds: DEFAULT_PERIOD_SECONDS, origin: 'package' }));
    put(PACKAGE_SYSUSERS_PATH, renderSysusers('package'));
    put(ENVIRONMENT_FILE, environmentFile());
    const gz = (text: Buffer | string): Buffer => gzipSync(text, { level: 9 });
    const date = new Date(Number(process.env.SOURCE_DATE_EPOCH ?? gitTime()) * 1000);
    put(`${DOC_DIR}/copyright`, copyright(date.getUTCFullYear()));
    put(`${DOC_DIR}/changelog.gz`, gz(changelog(o, date)));
    put(`${DOC_DIR}/README.md.gz`, gz(readFileSync(join(REPO, 'README.md'))));
    put(`${DOC_DIR}/RUNBOOK.md.gz`, gz(readFileSync(join(REPO, 'RUNBOOK.md'))));
    put(`${SHARE_DIR}/dashboards/systemd-heartbeat.json`, readFileSync(join(REPO, 'dashboards/systemd-heartbeat.json')));
    cpSync(join(REPO, 'dashboards/provisioning'), join(stage, SHARE_DIR, 'dashboards/provisioning'), { recursive: true });
    put(
      `/usr/share/man/man1/${NAME}.1.gz`,
      gz(manPage(run([process.execPath, join(dist, BUNDLE_NAME), '--help'], `${BUNDLE_NAME} --help`), date)),
    );
    // The cache must be made by the node the unit runs (ExecStart=/usr/bin/node), not the first on PATH.
    put(`/usr/share/lintian/overrides/${NAME}`, `${NAME}: command-with-path-in-maintainer-script ${NODE} *\n`);
    put(`${SHARE_DIR}/alerts/systemd-heartbeat.rules.yml`, readFileSync(join(REPO, 'alerts/systemd-heartbeat.rules.yml')));

    const files = walk(stage).sort();
    const md5sums = files.map((f) => `${createHash('md5').update(readFileSync(f)).digest('hex')}  ${relative(stage, f)}`).join('\n');
    const installedKiB = files.reduce((sum, f) => sum + Math.ceil(statSync(f).size / 1024), 0) + 4;
    put('/DEBIAN/control', control(o, installedKiB));
    put('/DEBIAN/md5sums', `${md5sums}\n`);
    put('/DEBIAN/conffiles', `${ENVIRONMENT_FILE}\n`);
    put('/DEBIAN/triggers', triggers());
    put('/DEBIAN/postinst', postinst(), 0o755);
    put('/DEBIAN/prerm', prerm(), 0o755);
    put('/DEBIAN/postrm', postrm(), 0o755);
    // Same mtimes on every build of one commit; directories 0755 whatever the umask.
    for (const f of walk(stage)) utimesSync(f, date, date);
    run(['find', stage, '-type', 'd', '-exec', 'chmod', '0755', '{}', '+'], 'chmod');

    mkdirSync(o.out, { recursive: true });
    const deb = join(o.out, `${NAME}_${o.version}_all.deb`);
    rmSync(deb, { force: true });
    run(['dpkg-deb', '--root-owner-group', '-Zxz', '--build', stage, deb], 'dpkg-deb --build');
    process.stdout.write(`${deb}\n`);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** The last commit's time (what SOURCE_DATE_EPOCH would be), or now outside a clone. */
function gitTime(): number {
  const r = spawnSync('git', ['-C', REPO, 'log', '-1', '--format=%ct'], { encoding: 'utf8' });
  const t = Number(r.stdout.trim());
  return r.status === 0 && t > 0 ? t : Math.floor(Date.now() / 1000);
}

main();
