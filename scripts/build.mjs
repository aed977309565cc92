// Bundles src/bin.ts and the three OTel packages into one file: node_modules is not read at
// run time. `module` before `main` picks the packages' ESM builds, which tree-shake; their
// CommonJS builds do not (see ../shared/notes/performance.md: 199 KB vs 1.18 MB, 43 vs 72 ms).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

await build({
  entryPoints: [new URL('../src/bin.ts', import.meta.url).pathname],
  outfile: new URL('../dist/systemd-heartbeat.cjs', import.meta.url).pathname,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20.6',
  mainFields: ['module', 'main'],
  minify: true,
  sourcemap: 'linked',
  sourcesContent: true,
  legalComments: 'linked',
  banner: { js: '#!/usr/bin/env node' },
  define: { HEARTBEAT_VERSION: JSON.stringify(pkg.version) },
  logLevel: 'warning',
});
