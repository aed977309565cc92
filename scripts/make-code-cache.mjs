// The code cache maker, bundled by scripts/build.mjs into dist/make-code-cache.cjs and shipped
// beside the bundle: `node make-code-cache.cjs [DIR]` writes DIR/systemd-heartbeat.code-cache
// (DIR: where this file is) for the node that runs it. The build runs it with the node that
// builds; the Debian package's postinst (and its trigger on a nodejs upgrade) runs it with the
// host's node, so a package never carries a cache made on the build machine.
//
// V8 compiles a function on its first call, so the cache is taken from a process that ran the
// code: two real ticks of DIR/systemd-heartbeat.cjs on recorded systemd 252 output (a fake
// systemctl and journalctl) pushing to a loopback receiver, the second one asked to write its
// compiled code (SYSTEMD_HEARTBEAT_WRITE_CODE_CACHE; the loader puts its header line first: the
// bundle's build id, node's version and arch, which it checks before it hands V8 the cache).
// Then V8 must take the cache for the bundle's source, or nothing is written. Exit 0: written;
// 1: not (the bundle then compiles as usual on each run; the reason is on stderr).
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Script } from 'node:vm';
import LIST_UNITS from '../test/fixtures/seed-252/list-units-all-output-json.txt';
import SHOW from '../test/fixtures/seed-252/show-props-all-timestamp-unix.txt';
import { BUNDLE_HEAD, BUNDLE_TAIL, CODE_CACHE, LOADER } from './loader-layout.mjs';

async function main() {
  const dir = resolve(process.argv[2] ?? __dirname);
  const loader = join(dir, LOADER);
  const source = bundleSource(readFileSync(loader, 'utf8'));
  const cache = await warmUp(loader);
  const newline = cache.indexOf(10);
  if (newline < 0 || new Script(source, { filename: loader, cachedData: cache.subarray(newline + 1) }).cachedDataRejected) {
    throw new Error('V8 rejects the code cache it just made (a V8 flag in NODE_OPTIONS?)');
  }
  const out = join(dir, CODE_CACHE);
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, cache, { mode: 0o644 });
  chmodSync(tmp, 0o644);
  renameSync(tmp, out);
}

// The bundle in the loader scripts/build.mjs writes: the text of the comment that is the body of
// its function bundle(), which starts a line and ends one.
function bundleSource(text) {
  const head = `\n${BUNDLE_HEAD}`;
  const start = text.indexOf(head);
  const end = start < 0 ? -1 : text.indexOf(`${BUNDLE_TAIL}\n`, start);
  if (start < 0 || end < 0) throw new Error('not a systemd-heartbeat loader (no bundle)');
  return text.slice(start + head.length, end);
}

/** Two real ticks of the loader; the second one's compiled code, header first. */
async function warmUp(loader) {
  const dir = mkdtempSync(join(tmpdir(), 'hb-code-cache-'));
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  try {
    const strip = (text) => text.replace(/^(#.*\n)+/, '');
    writeFileSync(join(dir, 'list-units.json'), strip(LIST_UNITS));
    writeFileSync(join(dir, 'show.txt'), strip(SHOW));
    writeFileSync(
      join(dir, 'journal.json'),
      `${JSON.stringify({
        __CURSOR: 's=0;i=1',
        __REALTIME_TIMESTAMP: '1795369394000000',
        MESSAGE_ID: '7ad2d189f7e94e70a38c781354912448',
        UNIT: 'hb-oneshot.service',
      })}\n`,
    );
    const fake = (name, body) => {
      writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
      chmodSync(join(dir, name), 0o755);
      return join(dir, name);
    };
    const systemctl = fake(
      'systemctl',
      `case "$*" in *list-units*) exec cat '${dir}/list-units.json' ;; *) exec cat '${dir}/show.txt' ;; esac`,
    );
    const journalctl = fake('journalctl', `exec cat '${dir}/journal.json'`);
    // An empty config file of its own: a config on this host must not change the tick.
    writeFileSync(join(dir, 'config.json'), '{}');
    await new Promise((done) => receiver.listen(0, '127.0.0.1', done));
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      SYSTEMD_HEARTBEAT_SYSTEMCTL: systemctl,
      SYSTEMD_HEARTBEAT_JOURNALCTL: journalctl,
      SYSTEMD_HEARTBEAT_UNITS: 'hb-*.service,hb-*.timer',
      SYSTEMD_HEARTBEAT_HOST: 'code-cache',
      SYSTEMD_HEARTBEAT_STATE_DIR: join(dir, 'state'),
      SYSTEMD_HEARTBEAT_CONFIG: join(dir, 'config.json'),
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `http://127.0.0.1:${receiver.address().port}/opentelemetry/v1/metrics`,
    };
    await tick(loader, env);
    await tick(loader, { ...env, SYSTEMD_HEARTBEAT_WRITE_CODE_CACHE: join(dir, 'code-cache') });
    return readFileSync(join(dir, 'code-cache'));
  } finally {
    receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function tick(loader, env) {
  return new Promise((done, fail) => {
    // With the flags this maker runs with: V8 takes a cache only from a process with the same flags.
    const child = spawn(process.execPath, [...process.execArgv, loader], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', fail);
    child.on('close', (status) => {
      clearTimeout(timer);
      if (status === 0) done();
      else fail(new Error(`the warm-up tick of ${loader} exited ${status}: ${stderr.trim()}`));
    });
  });
}

main().catch((error) => {
  console.error(`make-code-cache: no code cache written: ${error.message}`);
  process.exitCode = 1;
});
