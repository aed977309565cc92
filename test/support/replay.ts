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
  /** Arguments of every call so far, one array per call. */
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

export function createReplay(recordings: { listUnits: string; show: string }): Replay {
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
  return {
    systemctl: script,
    calls: () =>
      readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => l.split(' ')),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
