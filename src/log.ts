/**
 * Logs: one line per event on stderr. Under journald (JOURNAL_STREAM set) each line carries
 * a `<N>` syslog priority prefix that journald turns into the entry's priority.
 */
export interface Log {
  error(message: string): void;
  warning(message: string): void;
  info(message: string): void;
}

export function createLog(write: (line: string) => void, underJournal: boolean): Log {
  const line = (priority: number, label: string, message: string): void =>
    write(underJournal ? `<${priority}>${message}\n` : `systemd-heartbeat: ${label}${message}\n`);
  return {
    error: (m) => line(3, 'error: ', m),
    warning: (m) => line(4, 'warning: ', m),
    info: (m) => line(6, '', m),
  };
}
