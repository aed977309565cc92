/** Edge: reading the config file and credentials for resolveConfig. */
import { readFileSync } from 'node:fs';
import { describeError, usageError } from './errors.ts';

/** The file's text, or undefined when it does not exist; any other failure is a usage error naming the path. */
export function readFileIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw usageError(`${path}: cannot read (${code ?? describeError(error)})`);
  }
}
