/** Exit codes, documented in README ("Exit codes"). */
export const EXIT = {
  ok: 0,
  /** Collection or push failed (a partial collection is still pushed first). */
  failure: 1,
  /** Bad flag, environment variable or config file. */
  usage: 2,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The one error type: cli.ts prints its message as one line and exits with its code. */
export class HeartbeatError extends Error {
  readonly exitCode: number;
  constructor(exitCode: number, message: string) {
    super(message);
    this.name = 'HeartbeatError';
    this.exitCode = exitCode;
  }
}

export function usageError(message: string): HeartbeatError {
  return new HeartbeatError(EXIT.usage, message);
}

/** The message of anything thrown, on one line. */
export function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // `{0,}`, not `*`, before the closing slash: a star and slash would end the loader's comment the bundle lives in (scripts/build.mjs).
  return message.replace(/\s*\n\s{0,}/g, ' ').trim();
}
