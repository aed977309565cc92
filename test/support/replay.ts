/**
 * A stand-in for the systemctl edge only: a generated shell script that prints recorded real
 * output (list-units JSON, show text) and logs each invocation, so the real built CLI runs
 * end to end on recorded data. Pointed at by SYSTEMD_HEARTBEAT_SYSTEMCTL.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Replay {
  /** Path of the fake systemctl. */
  readonly systemctl: string;
  /** Path of the fake journalctl beside it (runCli finds it there; others set SYSTEMD_HEARTBEAT_JOURNALCTL). */
  readonly journalctl: string;
  /** Arguments of every call so far, one array per call (a journalctl call starts with "journalctl"). */
  calls(): string[][];
  remove(): void;
}

/** Drops the `# ...` header lines our recorded fixtures start with. */
export function stripHeader(text: string): string {
  const lines = text.split('\n');
  let i = 0;
  while (i < lines.length && (lines[i] as string).startsWith('#')) i++;
  return lines.slice(i).join('\n');
}

/**
 * `journal` is what the fake journalctl (written beside the fake systemctl, where runCli
 * finds it) prints: JSON lines of PID 1's run-finished entries; default none.
 */
export function createReplay(recordings: { listUnits: string; show: string; journal?: string }): Replay {
  const dir = mkdtempSync(join(tmpdir(), 'hb-replay-'));
  writeFileSync(join(dir, 'list-units.json'), recordings.listUnits);
  writeFileSync(join(dir, 'show.txt'), recordings.show);
  const log = join(dir, 'calls.log');
  writeFileSync(log, '');
  const script = join(dir, 'systemctl');
  writeFileSync(
    script,
    `#!/bin/sh
printf '%s\\n' "$*" >> '${log}'
for a in "$@"; do
  case "$a" in
    list-units) exec cat '${join(dir, 'list-units.json')}' ;;
    show) exec cat '${join(dir, 'show.txt')}' ;;
  esac
done
echo "replay systemctl: nothing recorded for: $*" >&2
exit 1
`,
  );
  chmodSync(script, 0o755);
  writeFileSync(join(dir, 'journal.json'), recordings.journal ?? '');
  const journalctl = join(dir, 'journalctl');
  writeFileSync(journalctl, `#!/bin/sh\nprintf 'journalctl %s\\n' "$*" >> '${log}'\nexec cat '${join(dir, 'journal.json')}'\n`);
  chmodSync(journalctl, 0o755);
  return {
    systemctl: script,
    journalctl,
    calls: () =>
      readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => l.split(' ')),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
