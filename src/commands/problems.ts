/**
 * Pure: the collection's problems as the lines an operator reads. When systemd cannot be asked
 * at all, every call fails the same way: that is one line, with what to do about it, not one
 * line per call.
 */
import type { Scope } from '../systemd/systemctl.ts';

/** `systemctl show: /usr/bin/systemctl show exited with 1: <what systemctl said>` -> the call and what it said. */
const CALL_FAILED = /^systemctl ([a-z-]+): .* exited with \d+: (.*)$/;

/** What to do when systemctl says this (systemd 252's own messages). */
export function hintFor(message: string, scope: Scope): string {
  if (/not been booted with systemd|Host is down/.test(message)) {
    return ' (systemd is not PID 1 here: run it on a systemd host; `npm start` runs a demo inside an isolated systemd)';
  }
  if (scope === 'user' && /Failed to connect to bus|No medium found|XDG_RUNTIME_DIR|DBUS_SESSION_BUS_ADDRESS/.test(message)) {
    return ' (no user manager to ask: log in as that user, or set XDG_RUNTIME_DIR=/run/user/$(id -u); `loginctl enable-linger USER` keeps it running without a login)';
  }
  if (/Failed to connect to bus|Access denied|Permission denied/.test(message)) {
    return ' (systemctl cannot reach the system manager: run as a user allowed to, or check that D-Bus is running)';
  }
  return '';
}

export interface ProblemReport {
  /** Warning lines, one per distinct problem. */
  readonly lines: readonly string[];
  /** The first line, for the final error. */
  readonly first: string | undefined;
}

export function reportProblems(problems: readonly string[], scope: Scope): ProblemReport {
  const calls = new Map<string, string[]>();
  const other: string[] = [];
  for (const problem of problems) {
    const m = CALL_FAILED.exec(problem);
    if (!m) other.push(problem);
    else calls.set(m[2] as string, [...(calls.get(m[2] as string) ?? []), m[1] as string]);
  }
  const lines = [
    ...[...calls].map(([message, names]) => `could not read systemd (systemctl ${names.join(', ')}): ${message}${hintFor(message, scope)}`),
    ...other.map((p) => `could not read: ${p}`),
  ];
  return { lines, first: lines[0] };
}
