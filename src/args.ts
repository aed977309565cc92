/**
 * Pure: the one flag parser every command uses. `--name value`, `--name=value`, short aliases,
 * repeatable flags and boolean switches; what a flag means is the command's business.
 */
import { usageError } from './errors.ts';

export type FlagKind = 'value' | 'list' | 'switch';

export interface FlagSpec {
  readonly kind: FlagKind;
  /** Other spellings (`-u` for `--unit`). */
  readonly aliases?: readonly string[];
}

export interface ParsedFlags {
  /** The last value of each `value` flag, by its long name. */
  readonly values: ReadonlyMap<string, string>;
  /** Every value of each `list` flag, in order. */
  readonly lists: ReadonlyMap<string, readonly string[]>;
  /** The `switch` flags given, in order (a switch may be given twice). */
  readonly switches: readonly string[];
  /** Words that are not flags, in order. */
  readonly positionals: readonly string[];
}

export interface ParseOptions {
  /** Prefixes every message: `summary: `. */
  readonly command?: string;
  /** Words accepted as positionals; anything else that is not a flag is refused. */
  readonly positionals?: readonly string[];
  /** What a positional is called in the message for an unknown one (default `argument`). */
  readonly positionalName?: string;
  /** Where to look for help, in the message for an unknown flag. */
  readonly help: string;
}

export function parseFlags(argv: readonly string[], spec: Readonly<Record<string, FlagSpec>>, options: ParseOptions): ParsedFlags {
  const byName = new Map<string, [string, FlagSpec]>();
  for (const [name, flag] of Object.entries(spec)) {
    byName.set(name, [name, flag]);
    for (const alias of flag.aliases ?? []) byName.set(alias, [name, flag]);
  }
  const prefix = options.command ? `${options.command}: ` : '';
  const values = new Map<string, string>();
  const lists = new Map<string, string[]>();
  const switches: string[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const word = eq > 0 ? arg.slice(0, eq) : arg;
    const known = byName.get(word);
    if (!known) {
      if (arg.startsWith('-') && arg !== '-') throw usageError(`${prefix}unknown option ${word} (see ${options.help})`);
      if (!options.positionals?.includes(arg)) {
        throw usageError(`${prefix}unknown ${options.positionalName ?? 'argument'} ${JSON.stringify(arg)} (see ${options.help})`);
      }
      positionals.push(arg);
      continue;
    }
    const [name, flag] = known;
    if (flag.kind === 'switch') {
      if (eq > 0) throw usageError(`${prefix}${word} takes no value`);
      switches.push(name);
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw usageError(`${prefix}${word} needs a value`);
    if (flag.kind === 'list') lists.set(name, [...(lists.get(name) ?? []), value]);
    else values.set(name, value);
  }
  return { values, lists, switches, positionals };
}

/** `--user` / `--system`: at most one of them; undefined when neither was given. */
export function scopeOf(flags: ParsedFlags, command?: string): 'user' | 'system' | undefined {
  const given = new Set(flags.switches.filter((s) => s === '--user' || s === '--system'));
  if (given.size > 1) throw usageError(`${command ? `${command}: ` : ''}--user and --system exclude each other`);
  const [only] = given;
  return only === undefined ? undefined : only === '--user' ? 'user' : 'system';
}
