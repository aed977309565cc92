/** What a command gets from the top level (cli.ts): no direct process access. */
import type { Log } from '../log.ts';

export interface CommandContext {
  readonly env: NodeJS.ProcessEnv;
  readonly log: Log;
  /** Writes one chunk of text to stdout (add the newline yourself). */
  readonly stdout: (text: string) => void;
}
