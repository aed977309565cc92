/**
 * Cleanups that must run however the test process ends (a normal exit, or SIGINT / SIGTERM /
 * SIGHUP): the harness's sandboxes and the VictoriaMetrics servers register theirs here, so
 * the handlers are installed once and the signal is re-raised once, after all of them ran.
 */
const cleanups = new Set<() => void>();
let installed = false;

function runAll(): void {
  for (const cleanup of cleanups) {
    try {
      cleanup();
    } catch (error) {
      process.stderr.write(`cleanup at process end failed: ${String(error)}\n`);
    }
  }
}

export function atProcessEnd(cleanup: () => void): void {
  cleanups.add(cleanup);
  if (installed) return;
  installed = true;
  process.on('exit', runAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      runAll();
      // Re-raise for the default action unless someone else handles the signal.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}
