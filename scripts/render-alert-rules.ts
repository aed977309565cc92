/**
 * Renders alerts/systemd-heartbeat.rules.yml from alerts/systemd-heartbeat.rules.template.yml.
 *
 * The template declares every tunable once, in its header ("#   NAME = default: meaning"),
 * and uses it as ${NAME}. The shipped rule file is the template rendered with the defaults
 * (test/alerts.test.ts checks it is up to date), and the live test renders a copy with short
 * windows from the same template: one source, no hand-edited duplicate to drift.
 *
 *   node --import tsx scripts/render-alert-rules.ts                 # defaults, to stdout
 *   node --import tsx scripts/render-alert-rules.ts --set FAILED_FOR=15m --set RUNBOOK_URL=https://...
 *   node --import tsx scripts/render-alert-rules.ts --write         # rewrite the shipped file
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const TEMPLATE_PATH = fileURLToPath(new URL('../alerts/systemd-heartbeat.rules.template.yml', import.meta.url));
export const RULES_PATH = fileURLToPath(new URL('../alerts/systemd-heartbeat.rules.yml', import.meta.url));

export type TunableKind = 'duration' | 'number' | 'url';

export interface Tunable {
  readonly name: string;
  readonly defaultValue: string;
  readonly kind: TunableKind;
  readonly meaning: string;
}

const DECLARATION = /^#\s+([A-Z][A-Z0-9_]*) = (\S+): (.+)$/;
const PLACEHOLDER = /\$\{([A-Z][A-Z0-9_]*)\}/g;
/** A Prometheus/MetricsQL duration as used in `[...]` and `for:`: 90s, 5m, 1h30m, 1d. */
const DURATION = /^(?:\d+(?:ms|s|m|h|d|w|y))+$/;
const NUMBER = /^\d+(?:\.\d+)?$/;
/** Lands inside single-quoted YAML and a URL: no quotes, spaces or template braces. */
const URL_LIKE = /^[^\s'"{}$#]+$/;

function kindOf(value: string): TunableKind {
  if (DURATION.test(value)) return 'duration';
  if (NUMBER.test(value)) return 'number';
  return 'url';
}

function valid(kind: TunableKind, value: string): boolean {
  if (kind === 'duration') return DURATION.test(value);
  if (kind === 'number') return NUMBER.test(value);
  return URL_LIKE.test(value);
}

/** The tunables the template's header declares, in order. */
export function parseTunables(template: string): Tunable[] {
  const tunables: Tunable[] = [];
  for (const line of template.split('\n')) {
    if (!line.startsWith('#')) break; // the header ends at the first non-comment line
    const match = DECLARATION.exec(line);
    if (!match) continue;
    const [, name, defaultValue, meaning] = match as unknown as [string, string, string, string];
    if (tunables.some((t) => t.name === name)) throw new Error(`alert rule template declares ${name} twice`);
    tunables.push({ name, defaultValue, kind: kindOf(defaultValue), meaning });
  }
  return tunables;
}

/**
 * The template with every ${NAME} replaced (overrides win over defaults) and the header's
 * declarations showing the values used. Throws on an unknown or malformed override, on a
 * placeholder nobody declared, and on a declared tunable nothing uses.
 */
export function renderRules(template: string, overrides: Readonly<Record<string, string>> = {}): string {
  const tunables = parseTunables(template);
  const values = new Map(tunables.map((t) => [t.name, t.defaultValue]));
  for (const [name, value] of Object.entries(overrides)) {
    const tunable = tunables.find((t) => t.name === name);
    if (!tunable) throw new Error(`unknown alert tunable ${name} (known: ${tunables.map((t) => t.name).join(', ')})`);
    if (!valid(tunable.kind, value)) throw new Error(`alert tunable ${name}=${JSON.stringify(value)} is not a ${tunable.kind}`);
    values.set(name, value);
  }
  const used = new Set<string>();
  const lines = template.split('\n').map((line) => {
    const declaration = DECLARATION.exec(line);
    if (line.startsWith('#') && declaration) {
      const name = declaration[1] as string;
      return line.replace(` = ${declaration[2] as string}: `, ` = ${values.get(name) as string}: `);
    }
    return line.replace(PLACEHOLDER, (_, name: string) => {
      const value = values.get(name);
      if (value === undefined) throw new Error(`alert rule template uses \${${name}}, which its header does not declare`);
      used.add(name);
      return value;
    });
  });
  const unused = tunables.filter((t) => !used.has(t.name)).map((t) => t.name);
  if (unused.length > 0) throw new Error(`alert rule template declares ${unused.join(', ')} but never uses it`);
  return lines.join('\n');
}

export const GENERATED_NOTE =
  '# GENERATED from systemd-heartbeat.rules.template.yml by scripts/render-alert-rules.ts: edit the template, then run it with --write.\n';

/** What the shipped file must contain: the notice, then the template rendered with `overrides`. */
export function renderRuleFile(overrides: Readonly<Record<string, string>> = {}): string {
  return GENERATED_NOTE + renderRules(readFileSync(TEMPLATE_PATH, 'utf8'), overrides);
}

function main(argv: readonly string[]): void {
  const overrides: Record<string, string> = {};
  let write = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--write') {
      write = true;
    } else if (arg === '--set' && i + 1 < argv.length) {
      const pair = argv[++i] as string;
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`--set wants NAME=VALUE, got ${JSON.stringify(pair)}`);
      overrides[pair.slice(0, eq)] = pair.slice(eq + 1);
    } else {
      throw new Error(`unknown argument ${JSON.stringify(arg)}; usage: render-alert-rules.ts [--set NAME=VALUE]... [--write]`);
    }
  }
  if (write && Object.keys(overrides).length > 0) {
    throw new Error('--write renders the defaults into the shipped file; for a tuned copy use --set ... > your.rules.yml');
  }
  const text = renderRuleFile(overrides);
  if (write) writeFileSync(RULES_PATH, text);
  else process.stdout.write(text);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`render-alert-rules: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  }
}
