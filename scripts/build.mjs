// Bundles src/bin.ts and the three OTel packages into one file: node_modules is not read at
// run time. `module` before `main` picks the packages' ESM builds, which tree-shake; their
// CommonJS builds do not (see ../shared/notes/performance.md: 199 KB vs 1.18 MB, 43 vs 72 ms).
//
// Then the code cache. Compiling the bundle was most of what a tick costs above the floor
// (`npm run bench`): Node 20 caches the code of its own modules but not ours (no
// module.enableCompileCache before Node 22), and V8 compiles every function on its first call.
// So dist/systemd-heartbeat.cjs, the entry point the unit runs, holds the bundle as a string and
// compiles it with vm.Script and V8's code cache from dist/systemd-heartbeat.code-cache, made by
// dist/make-code-cache.cjs (two real ticks on recorded systemd 252 output, a loopback receiver)
// with the node that runs it: here the node that builds, on a host that installs the Debian
// package the host's node (postinst). The .cjs runs alone, as any bundle: without the cache
// file, with a cache of another build (the build id in the cache's first line must match the
// loader's: V8 checks a source's length, not its text), or made by a node of another version or
// arch (the first line names those too), V8 compiles the bundle as usual. No flag is needed (a V8 flag would cost ~8 ms; a startup
// snapshot would need --snapshot-blob). The cache is a file of its own, not a string in the .cjs:
// Node reads and V8 scans all of an entry point's text before it runs, and the 300 KB cache as
// base64 in it cost ~3 ms a tick.
//
// The bundle is the text of a comment in the loader, taken with Function.prototype.toString: a
// slice of the loader's own source, which V8 shares rather than copies. As a string literal it
// was a second 190 KB string on the heap that V8 also scanned for escapes and interned
// (scripts/bench/ab.ts at 10 units, 60 rounds, tick/floor: wall 1.233 -> 1.191, CPU 1.234 ->
// 1.201, peak RSS 1.061 -> 1.056). So the bundle must not hold `*/`: the build fails when it
// does (in a regular expression, write `{0,}` for a `*` before the closing slash).
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { BUNDLE_HEAD, BUNDLE_TAIL, CODE_CACHE, LOADER } from './loader-layout.mjs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const dist = new URL('../dist/', import.meta.url).pathname;
const outfile = join(dist, LOADER);
const cacheFile = join(dist, CODE_CACHE);
const MAKE_CODE_CACHE = 'make-code-cache.cjs';
/** The oldest node the shipped files run on: Debian 12's nodejs is 18.20 (engines in package.json). */
const TARGET = 'node18.19';

/**
 * The OTLP exporter's protobuf code measures and writes every string a UTF-16 unit at a time in
 * JS (the size estimator's utf8ByteLength, then ProtobufWriter.writeString's ASCII check and
 * copy loop). At 10 units that loop is the one function V8 finds hot enough to optimise with
 * TurboFan in every tick: ~11 ms of compiler CPU on a background thread and ~4 MB of peak RSS
 * (the compiler's code and memory), for a process that exits a few ms later. Here the estimator
 * asks Node's native UTF-8 length, and the writer encodes each distinct string once per request
 * (TextEncoder, as the package does for non-ASCII) and copies its bytes with writeBytes: the
 * label keys and values repeat on every data point. scripts/bench/ab.ts, medians of 50 rounds:
 * 10 units, tick/floor CPU 1.36 -> 1.26, peak RSS 1.20 -> 1.10; 1000 units as before (a
 * per-string native encodeInto instead cost +0.06 CPU and +3 MB there). The bytes on the wire
 * are the same: checked below against the package's own writer on every build. The exporter,
 * its serializer and the rest of the writer are the package's.
 */
const WRITE_STRING = `writeString(str) {
        let bytes = this._utf8 === undefined ? undefined : this._utf8.get(str);
        if (bytes === undefined) {
            bytes = this._textEncoder.encode(str);
            (this._utf8 ??= new Map()).set(str, bytes);
        }
        this.writeBytes(bytes);
    }`;
const UTF8_BYTE_LENGTH = `function utf8ByteLength(str) {
    return Buffer.byteLength(str, 'utf8');
}`;

/** Paths of the writer that went into the bundle (the check below reads its CommonJS twin). */
const patchedWriters = new Set();

const result = await build({
  entryPoints: [new URL('../src/bin.ts', import.meta.url).pathname],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: TARGET,
  mainFields: ['module', 'main'],
  // `import('http')` (the OTLP exporter's) becomes require: no ESM loader at run time, and
  // vm.Script has no dynamic import without a flag.
  supported: { 'dynamic-import': false },
  minify: true,
  sourcemap: 'external',
  sourcesContent: true,
  legalComments: 'linked',
  define: { HEARTBEAT_VERSION: JSON.stringify(pkg.version) },
  plugins: [lazyZlib(), namedBuiltinImports(), clockWithoutPerfHooks(), nativeProtobufStrings(), noCommentEnd()],
  logLevel: 'warning',
  write: false,
});

for (const path of patchedWriters) checkWriteString(path);
mkdirSync(dist, { recursive: true });
const output = (path) => {
  const file = result.outputFiles.find((f) => f.path === path);
  if (!file) throw new Error(`build: esbuild wrote no ${path}`);
  return file;
};
const code = output(outfile).text;
const map = JSON.parse(output(`${outfile}.map`).text);
for (const file of result.outputFiles) if (file.path !== outfile && file.path !== `${outfile}.map`) writeFileSync(file.path, file.contents);
if (/\bimport\(/.test(code)) throw new Error('build: a dynamic import() is left in the bundle; vm.Script cannot run it');
const commentEnd = code.indexOf('*/');
if (commentEnd >= 0) {
  const around = code.slice(Math.max(0, commentEnd - 60), commentEnd + 20);
  throw new Error(
    `build: the bundle holds "*/" (${JSON.stringify(around)}), which would end the loader's comment that holds it; in a regular expression write {0,} for the * before the closing slash`,
  );
}

// The wrapper Node's CommonJS loader puts around a module, on a line of its own: the code starts
// on the string's line 2, so the source map (of the string, whose lines stack traces show) is
// shifted by one line.
const source = `(function (exports, require, module, __filename, __dirname) {\n${code}\n})\n//# sourceMappingURL=${LOADER}.map\n`;
writeFileSync(`${outfile}.map`, JSON.stringify({ ...map, mappings: `;${map.mappings}` }));
// Ties a cache to this bundle; the loader adds the version and arch of the node that runs it.
const id = createHash('sha256').update(source).digest('hex').slice(0, 16);

const loader = `#!/usr/bin/env node
// systemd-heartbeat ${pkg.version}: BUNDLE is src/bin.ts and the OTel packages (its lines are
// what stack traces and the source map ${LOADER}.map show). It is compiled with V8's code
// cache from ${CODE_CACHE} beside this file when the cache's first line names this build and
// the node running it (make-code-cache.cjs makes one for the node that runs it), and as usual
// otherwise. See scripts/build.mjs.
'use strict';
${BUNDLE_HEAD}${source}${BUNDLE_TAIL}
// The comment's text as a slice of this file's source, not a copy (see scripts/build.mjs).
const BUNDLE = bundle.toString().slice(${BUNDLE_HEAD.length}, -${BUNDLE_TAIL.length});
const { Script } = require('node:vm');
// The build id: a cache made for another bundle of the same length would pass V8's check.
const HEADER = '${id} ' + process.version + ' ' + process.arch + '\\n';
let cachedData;
try {
  const data = require('node:fs').readFileSync(__dirname + '/${CODE_CACHE}');
  if (data.latin1Slice(0, HEADER.length) === HEADER) cachedData = data.subarray(HEADER.length);
} catch {}
const script = new Script(BUNDLE, { filename: __filename, cachedData });
const out = process.env.SYSTEMD_HEARTBEAT_WRITE_CODE_CACHE;
if (out) process.once('exit', () => require('node:fs').writeFileSync(out, Buffer.concat([Buffer.from(HEADER, 'latin1'), script.createCachedData()])));
script.runInThisContext()(exports, require, module, __filename, __dirname);
`;
writeFileSync(outfile, loader, { mode: 0o755 });
chmodSync(outfile, 0o755);
rmSync(cacheFile, { force: true });

// The maker of the code cache, shipped beside the bundle (scripts/make-code-cache.mjs), run here
// with the node that builds.
await build({
  entryPoints: [new URL('make-code-cache.mjs', import.meta.url).pathname],
  outfile: join(dist, MAKE_CODE_CACHE),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: TARGET,
  loader: { '.txt': 'text' },
  banner: { js: `// systemd-heartbeat ${pkg.version}: makes ${CODE_CACHE} for the node that runs it. See scripts/make-code-cache.mjs.` },
  logLevel: 'warning',
});
const made = spawnSync(process.execPath, [join(dist, MAKE_CODE_CACHE), dist], { encoding: 'utf8', timeout: 90_000 });
if (made.status !== 0) {
  if (made.stderr.includes('V8 rejects')) console.warn(`build: ${made.stderr.trim()}; shipping without it`);
  else throw new Error(`build: ${MAKE_CODE_CACHE} failed (${made.status ?? made.signal}): ${made.stderr.trim()}`);
}

/**
 * A plugin that rewrites OTel files as esbuild loads them: `patch(text, path)` returns the new
 * text and throws when what it replaces is not there. The package's source map no longer fits a
 * patched file, so its sourceMappingURL goes (the bundle's map then shows the patched code). The
 * build fails unless exactly `expected` files were patched: a changed package must not slip
 * through unpatched.
 */
function patchFiles(name, filter, expected, patch) {
  return {
    name,
    setup(b) {
      let patched = 0;
      b.onStart(() => {
        patched = 0;
      });
      b.onLoad({ filter }, (args) => {
        patched++;
        const text = patch(readFileSync(args.path, 'utf8'), args.path);
        return { contents: text.replace(/^\/\/# sourceMappingURL=.*$/m, ''), loader: 'js' };
      });
      b.onEnd((result) => {
        if (result.errors.length === 0 && patched !== expected)
          throw new Error(`build: ${name} patched ${patched} files, not ${expected}; see ${name} in scripts/build.mjs`);
      });
    },
  };
}

/** A path below node_modules/@opentelemetry/<package>/build/esm/, as a filter. */
function otelFile(pkgPath) {
  const escapeRegExp = (part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`[\\\\/]@opentelemetry[\\\\/]${pkgPath.split('/').map(escapeRegExp).join('[\\\\/]')}$`);
}

/**
 * The exporter's environment configuration has `import * as fs from 'fs'` and the same for
 * `path` (to read a certificate file named in the environment). esbuild makes each a
 * __toESM(require(...)): a copy of the module with a getter per property, built at load time,
 * ~0.45 ms a tick for these two. Here each becomes a named import of the members the file calls
 * and a module-level object of them under the same name (so a parameter that shadows it still
 * does). The build fails when the imports are not there or a member is not the module's.
 */
function namedBuiltinImports() {
  const namespaceImport = /^import \* as (\w+) from '(fs|path)';$/gm;
  const require = createRequire(import.meta.url);
  return patchFiles(
    'namedBuiltinImports',
    otelFile('otlp-exporter-base/build/esm/configuration/otlp-node-http-env-configuration.js'),
    1,
    (text, path) => {
      let found = 0;
      const patched = text.replace(namespaceImport, (_, ns, module) => {
        found++;
        const members = [...new Set([...text.matchAll(new RegExp(`\\b${ns}\\.(\\w+)\\(`, 'g'))].map((m) => m[1]))];
        const missing = members.filter((m) => typeof require(module)[m] !== 'function');
        if (members.length === 0 || missing.length > 0) {
          throw new Error(`build: ${path}: ${ns} (${module}) is used as ${members.join(', ') || 'nothing'}; see namedBuiltinImports()`);
        }
        return `import { ${members.join(', ')} } from '${module}';\nconst ${ns} = { ${members.join(', ')} };`;
      });
      if (found !== 2) throw new Error(`build: ${path}: ${found} of the 2 namespace imports found; see namedBuiltinImports()`);
      return patched;
    },
  );
}

// sdk-metrics' match-all view predicate holds the regular expression "dot, star" between
// slashes, whose star and closing slash would end the loader's comment the bundle lives in (see
// the loader above): `/.{0,}/` is the same expression (and the predicate does not even use it:
// it matches everything without).
function noCommentEnd() {
  const line = 'this._regexp = /.*/;';
  return patchFiles('noCommentEnd', otelFile('sdk-metrics/build/esm/view/Predicate.js'), 1, (text, path) => {
    if (!text.includes(line)) throw new Error(`build: "${line}" not found in ${path}; see noCommentEnd()`);
    return text.replace(line, 'this._regexp = /.{0,}/;');
  });
}

/**
 * The OTLP exporter imports zlib at load time for gzip, which the push never asks for
 * (compression is off): node:zlib is then loaded on the first createGzip() call only.
 */
function lazyZlib() {
  return {
    name: 'lazy-zlib',
    setup(b) {
      b.onResolve({ filter: /^(node:)?zlib$/ }, (args) =>
        args.importer.includes('@opentelemetry/') ? { path: 'lazy-zlib', namespace: 'lazy-zlib' } : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: 'lazy-zlib' }, () => ({
        contents: "export function createGzip(options) { return require('node:zlib').createGzip(options); }",
        loader: 'js',
      }));
    },
  };
}

/**
 * OTel core's `otperformance` is the global `performance`, whose first touch loads perf_hooks
 * and its 9 internal modules (~0.8 ms a tick, see `npm run bench`); core's hrTime() only reads
 * `timeOrigin` and `now()`. Here they come from process.uptime(), the same monotonic clock
 * (uv_hrtime) Node's performance.now() reads, with timeOrigin set once so that
 * timeOrigin + now() is the wall clock, as Node's is. The build fails if the line changes.
 */
function clockWithoutPerfHooks() {
  const line = 'export const otperformance = performance;';
  const shim =
    'const uptimeMs = () => process.uptime() * 1000;\n' +
    'export const otperformance = { timeOrigin: Date.now() - uptimeMs(), now: uptimeMs };';
  return patchFiles('clockWithoutPerfHooks', otelFile('core/build/esm/platform/node/index.js'), 1, (text, path) => {
    if (!text.includes(line)) throw new Error(`build: "${line}" not found in ${path}; see clockWithoutPerfHooks()`);
    return text.replace(line, shim);
  });
}

function nativeProtobufStrings() {
  /** Replaces the whole method or function starting at `head`; the build fails when it is not there. */
  const replace = (text, path, head, end, replacement) => {
    const start = text.indexOf(head);
    const stop = start < 0 ? -1 : text.indexOf(end, start);
    if (start < 0 || stop < 0)
      throw new Error(`build: ${head} not found in ${path}; the exporter's code changed, see nativeProtobufStrings()`);
    return text.slice(0, start) + replacement + text.slice(stop + end.length);
  };
  const writer = otelFile('otlp-transformer/build/esm/common/protobuf/protobuf-writer.js');
  const estimator = otelFile('otlp-transformer/build/esm/common/protobuf/protobuf-size-estimator.js');
  return patchFiles('nativeProtobufStrings', new RegExp(`${writer.source}|${estimator.source}`), 2, (text, path) => {
    if (!writer.test(path)) return replace(text, path, 'function utf8ByteLength(str) {', '\n}', UTF8_BYTE_LENGTH);
    patchedWriters.add(path);
    return replace(text, path, 'writeString(str) {', '\n    }', WRITE_STRING);
  });
}

/**
 * The patched writeString against the package's own (its CommonJS build, same code): the same
 * bytes for ASCII, other scripts, astral characters, lone surrogates (U+FFFD both ways), strings
 * written again (from the cache) and a buffer that has to grow.
 */
function checkWriteString(esmPath) {
  const cjsPath = esmPath.replace(/([\\/]build[\\/])esm([\\/])/, '$1src$2');
  const { ProtobufWriter } = createRequire(import.meta.url)(cjsPath);
  const Patched = new Function('Base', `return class extends Base { ${WRITE_STRING} }`)(ProtobufWriter);
  const strings = [
    '',
    'a',
    'host',
    'hb-00001-ok.service',
    'é',
    'ünït',
    '日本語',
    '\u{1F600}',
    '\ud800',
    'a\udc00b',
    '\udbff\udfff',
    'x'.repeat(300),
  ];
  let seed = 1;
  for (let i = 0; i < 500; i++) {
    let text = '';
    for (let j = (i * 7) % 41; j > 0; j--) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      text += String.fromCharCode(seed % 5 === 0 ? seed % 0x10000 : seed % 128);
    }
    strings.push(text);
  }
  const original = new ProtobufWriter(16);
  const patched = new Patched(16);
  // Twice: the second round writes from the patched writer's cache.
  for (const text of [...strings, ...strings]) {
    original.writeString(text);
    patched.writeString(text);
  }
  if (Buffer.compare(Buffer.from(original.finish()), Buffer.from(patched.finish())) !== 0) {
    throw new Error("build: the patched ProtobufWriter.writeString writes other bytes than the package's");
  }
}
