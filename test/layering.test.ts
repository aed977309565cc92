/**
 * The layering the layout shows, kept by reading every import under src/: a module may import
 * its own layer or a lower one, never a higher one, and no import chain comes back to where it
 * started.
 *
 *   base (errors, log, duration, args, url, defaults, read-file, hostname, thresholds, text)
 *     <- systemd <- state <- metrics <- export, vm <- config <- commands, summary, install <- cli, bin
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/** Layer rank by the first path segment under src/ (a folder, or a file at the top). */
export const LAYERS: Readonly<Record<string, number>> = {
  'errors.ts': 0,
  'log.ts': 0,
  'duration.ts': 0,
  'args.ts': 0,
  'url.ts': 0,
  'defaults.ts': 0,
  'read-file.ts': 0,
  'hostname.ts': 0,
  'thresholds.ts': 0,
  'text.ts': 0,
  'tuning.ts': 0,
  systemd: 1,
  state: 2,
  metrics: 3,
  export: 4,
  vm: 4,
  'config.ts': 5,
  commands: 6,
  summary: 6,
  install: 6,
  'cli.ts': 7,
  'bin.ts': 8,
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Relative imports of a module, static and dynamic, resolved to absolute paths. */
export function importsOf(file: string, text = readFileSync(file, 'utf8')): string[] {
  const pattern = /(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s+'([^']+)'|(?:^|\n)\s*import\s+'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/g;
  const specifiers = [...text.matchAll(pattern)]
    .map((m) => m[1] ?? m[2] ?? m[3])
    .filter((s): s is string => typeof s === 'string' && s.startsWith('.'));
  return specifiers.map((s) => resolve(dirname(file), s));
}

export function layerOf(file: string): { name: string; rank: number } {
  const name = relative(SRC, file).split('/')[0] as string;
  const rank = LAYERS[name];
  if (rank === undefined)
    throw new Error(`src/${relative(SRC, file)}: its layer is not known (add "${name}" to LAYERS in test/layering.test.ts)`);
  return { name, rank };
}

/** Every import against the direction, as `from -> to` lines. */
export function upwardImports(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    for (const to of targets) {
      const a = layerOf(from);
      const b = layerOf(to);
      if (b.rank > a.rank) out.push(`src/${relative(SRC, from)} (${a.name}) -> src/${relative(SRC, to)} (${b.name})`);
    }
  }
  return out;
}

/** Every import cycle, each as the chain of files that closes it. */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') found.push([...path.slice(path.indexOf(next)), next].map((f) => `src/${relative(SRC, f)}`));
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

function sourceGraph(): Map<string, string[]> {
  return new Map(sourceFiles(SRC).map((f) => [f, importsOf(f)]));
}

test('no module under src/ imports a higher layer', () => {
  assert.deepEqual(upwardImports(sourceGraph()), []);
});

test('no import cycle under src/', () => {
  assert.deepEqual(cycles(sourceGraph()), []);
});

test('every import resolves to a file of src/', () => {
  const graph = sourceGraph();
  const missing = [...graph.values()].flat().filter((f) => !graph.has(f));
  assert.deepEqual(missing, []);
});

test('the checks catch what they are for', () => {
  // An upward import (systemd -> metrics) and a cycle (state -> systemd -> state), on paths under src/.
  const parse = join(SRC, 'systemd/parse.ts');
  const observe = join(SRC, 'metrics/observe.ts');
  const starts = join(SRC, 'state/starts.ts');
  const graph = new Map([
    [parse, importsOf(parse, "import { toObservations } from '../metrics/observe.ts';\nimport '../state/starts.ts';")],
    [observe, []],
    [starts, importsOf(starts, "const m = await import('../systemd/parse.ts');")],
  ]);
  assert.deepEqual(upwardImports(graph), [
    'src/systemd/parse.ts (systemd) -> src/metrics/observe.ts (metrics)',
    'src/systemd/parse.ts (systemd) -> src/state/starts.ts (state)',
  ]);
  assert.deepEqual(cycles(graph), [['src/systemd/parse.ts', 'src/state/starts.ts', 'src/systemd/parse.ts']]);
});
