/** The entry point `npm run build` bundles into dist/systemd-heartbeat.cjs. */
import { main } from './cli.ts';

/** `systemd-heartbeat list | head`: a closed pipe ends the output, not with a stack trace. */
function endOnClosedPipe(error: NodeJS.ErrnoException): void {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
}

// The handler goes on stdout when something first uses stdout, not at start: Node creates the
// stream on first access (a socket under systemd, ~1-2 ms; 0.7 ms for a file), and a tick
// prints nothing to stdout. `process.stdout` is a configurable getter; it is put back as is.
const stdout = Object.getOwnPropertyDescriptor(process, 'stdout');
if (stdout?.get && stdout.configurable) {
  Object.defineProperty(process, 'stdout', {
    configurable: true,
    enumerable: stdout.enumerable ?? true,
    get() {
      Object.defineProperty(process, 'stdout', stdout);
      const stream = process.stdout;
      stream.on('error', endOnClosedPipe);
      return stream;
    },
  });
} else {
  process.stdout.on('error', endOnClosedPipe);
}

main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
  },
  () => {
    process.exitCode = 1;
  },
);
