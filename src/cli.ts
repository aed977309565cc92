/**
 * argv -> command. The only place that reads process.argv/env and sets the exit code; one
 * top-level catch prints one clear line.
 */
import { readFileIfExists } from './read-file.ts';
import { realpathSync } from 'node:fs';
import { hostname } from './hostname.ts';
import type { CommandContext } from './commands/context.ts';
import { resolveConfig, type FlagValues } from './config.ts';
import { parseFlags, scopeOf, type FlagSpec } from './args.ts';
import { EXIT, HeartbeatError, describeError, usageError } from './errors.ts';
import { createLog } from './log.ts';
import { listUnits, runOnce, type OutputFormat, type RunDeps } from './commands/run.ts';
import { installCommand, uninstallCommand } from './install/command.ts';
import { summaryCommand } from './summary/command.ts';
import { INTERPRETED_FROM_UNITS, preferInterpreter } from './tuning.ts';
import { bootFromClock } from './systemd/changes.ts';
import { SYSTEM_UNITS_DIR, readBootId, readInvocations } from './systemd/runtime.ts';
import { createJournalctl, createSystemctl } from './systemd/systemctl.ts';

declare const HEARTBEAT_VERSION: string | undefined;
const VERSION = typeof HEARTBEAT_VERSION === 'string' ? HEARTBEAT_VERSION : 'dev';

export const USAGE = `Usage: systemd-heartbeat [run|list|install|uninstall|summary|help] [options]

Commands:
  run (default)        collect the allowlisted units once, push once over OTLP, exit
  list                 print the resolved allowlist with each unit's load and active state
  install              write and enable the systemd service + timer (see install --help)
  uninstall            disable and remove what install wrote; your config and token stay (see uninstall --help)
  summary              report what went wrong in the last day, from VictoriaMetrics (see summary --help)
  help                 this text

Options:
  -u, --unit NAME      unit name or glob to watch; repeatable, or comma-separated
      --config PATH    JSON config file (default /etc/systemd-heartbeat/config.json)
      --user           read the user manager (systemctl --user)
      --system         read the system manager (default)
      --host NAME      value of the host label (default: the hostname)
      --endpoint URL   OTLP/HTTP metrics endpoint
                       (default http://127.0.0.1:8428/opentelemetry/v1/metrics)
      --header K=V     extra HTTP header for the push; repeatable
      --timeout DUR    bound on the whole run, e.g. 5s or 2500ms (default 5s)
      --state-dir PATH spool of unsent runs and remembered unit state
                       (default /var/lib/systemd-heartbeat; --user: ~/.local/state/systemd-heartbeat)
      --dry-run        print what would be pushed, push nothing
      --format FMT     table (default) or json, for --dry-run and list
  -h, --help           this text
      --version        print the version

Exit codes: 0 ok, 1 collection or push failed (a partial collection is still pushed),
2 usage or configuration error. See README.md for the environment variables.`;

/**
 * The running bundle's own path: argv[1] is the path as typed, so a symlink to it (npm install
 * -g puts one on PATH) is resolved.
 */
function bundlePath(): string | undefined {
  const entry = process.argv[1];
  try {
    return entry === undefined ? undefined : realpathSync(entry);
  } catch {
    return entry;
  }
}

/**
 * Commands that parse their own flags, each in src/commands/<name>.ts. argv is what follows
 * the command name. Register each with one line here and one line in USAGE.
 */
const SUBCOMMANDS: Record<string, (argv: readonly string[], ctx: CommandContext) => Promise<number>> = {
  install: (argv, ctx) => installCommand(argv, ctx, { entry: bundlePath(), execPath: process.execPath, cwd: process.cwd() }),
  uninstall: (argv, ctx) => uninstallCommand(argv, ctx, { entry: bundlePath() }),
  summary: (argv, ctx) => summaryCommand(argv, ctx),
};

export interface ParsedArgs {
  readonly command: 'run' | 'list' | 'help' | 'version';
  readonly flags: FlagValues;
  readonly dryRun: boolean;
  readonly format: OutputFormat;
}

const RUN_FLAGS: Readonly<Record<string, FlagSpec>> = {
  '--config': { kind: 'value' },
  '--unit': { kind: 'list', aliases: ['-u'] },
  '--host': { kind: 'value' },
  '--endpoint': { kind: 'value' },
  '--header': { kind: 'list' },
  '--timeout': { kind: 'value' },
  '--state-dir': { kind: 'value' },
  '--format': { kind: 'value' },
  '--user': { kind: 'switch' },
  '--system': { kind: 'switch' },
  '--dry-run': { kind: 'switch' },
  '--help': { kind: 'switch', aliases: ['-h'] },
  '--version': { kind: 'switch' },
};

const COMMANDS = ['run', 'list', 'help'] as const;

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const parsed = parseFlags(argv, RUN_FLAGS, { positionals: COMMANDS, positionalName: 'command', help: '--help' });
  const [first, second] = parsed.positionals;
  if (second !== undefined && first !== 'help') throw usageError(`unexpected argument ${JSON.stringify(second)}`);
  const format = parsed.values.get('--format') ?? 'table';
  if (format !== 'table' && format !== 'json') throw usageError(`--format: ${JSON.stringify(format)} must be table or json`);
  const flags: { -readonly [K in keyof FlagValues]: FlagValues[K] } = {};
  const { values, lists } = parsed;
  if (values.has('--config')) flags.config = values.get('--config');
  if (values.has('--host')) flags.host = values.get('--host');
  if (values.has('--endpoint')) flags.endpoint = values.get('--endpoint');
  if (values.has('--timeout')) flags.timeout = values.get('--timeout');
  if (values.has('--state-dir')) flags.stateDir = values.get('--state-dir');
  if (lists.has('--unit')) flags.units = lists.get('--unit');
  if (lists.has('--header')) flags.headers = lists.get('--header');
  const scope = scopeOf(parsed);
  if (scope) flags.scope = scope;
  const switched = (name: string): boolean => parsed.switches.includes(name);
  const command =
    switched('--help') || first === 'help' ? 'help' : switched('--version') ? 'version' : ((first ?? 'run') as 'run' | 'list');
  return { command, flags, dryRun: parsed.switches.includes('--dry-run'), format };
}

function readClock(): { monotonic: number; realtime: number } {
  // hrtime is CLOCK_MONOTONIC on Linux, the clock of systemd's *TimestampMonotonic.
  return { monotonic: Number(process.hrtime.bigint() / 1000n) / 1e6, realtime: Date.now() / 1000 };
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const log = createLog((line) => process.stderr.write(line), env.JOURNAL_STREAM !== undefined);
  try {
    const subcommand = argv[0] === undefined ? undefined : SUBCOMMANDS[argv[0]];
    if (subcommand && Object.hasOwn(SUBCOMMANDS, argv[0] as string)) {
      return await subcommand(argv.slice(1), { env, log, stdout: (text) => process.stdout.write(text) });
    }
    const args = parseArgs(argv);
    if (args.command === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return EXIT.ok;
    }
    if (args.command === 'version') {
      process.stdout.write(`systemd-heartbeat ${VERSION}\n`);
      return EXIT.ok;
    }
    const config = resolveConfig({ flags: args.flags, env, hostname, readFile: readFileIfExists });
    const deadline = readClock().monotonic + config.timeoutMs / 1000;
    const remainingMs = (): number => (deadline - readClock().monotonic) * 1000;
    // The push keeps a quarter of the budget (at most 2 s) for itself, whatever systemctl took.
    const pushReserve = Math.min(2000, config.timeoutMs / 4);
    const systemctl = createSystemctl({ scope: config.scope, timeoutMs: () => remainingMs() - pushReserve, env });
    const deps: RunDeps = {
      config,
      run: systemctl,
      // The user manager's runs are logged under its own pid, not PID 1: counted from InvocationID changes.
      ...(config.scope === 'system' ? { journal: createJournalctl({ timeoutMs: () => remainingMs() - pushReserve, env }) } : {}),
      readClock,
      log,
      print: (text) => process.stdout.write(`${text}\n`),
      remainingMs,
      tune: (units) => (units >= INTERPRETED_FROM_UNITS ? preferInterpreter() : Promise.resolve()),
      // PID 1's links; a test and benchmark hook puts the replay's beside its systemctl (see README).
      ...(config.scope === 'system'
        ? {
            runtime: {
              readInvocations: (ids: readonly string[]) => readInvocations(env.SYSTEMD_HEARTBEAT_INVOCATIONS_DIR || SYSTEM_UNITS_DIR, ids),
              // The shipped unit's ProcSubset=pid hides /proc/sys: then the clocks tell the boot.
              bootId: () => readBootId() ?? bootFromClock(readClock()),
            },
          }
        : {}),
    };
    // The last line of defence for the time bound: whatever hangs, the run ends.
    const guard = setTimeout(() => {
      log.error(`run did not finish within ${config.timeoutMs} ms; exiting`);
      process.exit(EXIT.failure);
    }, config.timeoutMs + 500);
    guard.unref();
    if (args.command === 'list') return await listUnits(deps, args.format);
    return await runOnce(deps, { dryRun: args.dryRun, format: args.format });
  } catch (error) {
    if (error instanceof HeartbeatError) {
      log.error(error.message);
      return error.exitCode;
    }
    log.error(`unexpected: ${describeError(error)}`);
    return EXIT.failure;
  }
}
