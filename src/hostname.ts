/**
 * Edge: the host label's default, the machine's hostname. node:os is loaded on the first call,
 * not when the bundle loads (an import would be a require at its top): a run told its host by a
 * flag, the environment or the config file never loads it. Measured on node 20, 40 alternating
 * runs of an otherwise empty script: loading node:os is ~0.23 MB of peak RSS.
 */
import type * as Os from 'node:os';

export function hostname(): string {
  // process.getBuiltinModule from Node 20.16; before it (Debian 12's 18.20), the shipped bundle is
  // CommonJS and has require.
  const os = (process.getBuiltinModule?.('node:os') ?? require('node:os')) as typeof Os;
  return os.hostname();
}
