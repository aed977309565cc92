/**
 * Pure: the thresholds that say when something is a problem, one definition for the summary and
 * for the alert rules (scripts/render-alert-rules.ts renders the rules' tunables from here), so
 * a restart loop that paged is a restart loop in the next report.
 */

/** A gap between two exporter runs longer than this many intervals is reported. */
export const GAP_INTERVALS = 3;
/** Coverage under this fraction of the expected runs is a problem even without a long gap. */
export const MIN_COVERAGE = 0.9;
/**
 * The alert rules' tunables (alerts/systemd-heartbeat.rules.template.yml) the summary judges by
 * too, so a restart loop that paged is a restart loop in the next report. test/thresholds.test.ts
 * keeps the template's declared defaults equal to these.
 */
export const ALERT_TUNABLES = {
  /** A restart loop: MORE than this many restarts ... */
  RESTART_THRESHOLD: 3,
  /** ... within this many seconds (the template's `5m`). */
  RESTART_WINDOW: 300,
  /** A timer is stale when its last trigger is older than this many of its own intervals. */
  STALE_FACTOR: 2,
} as const;

export const { RESTART_THRESHOLD, RESTART_WINDOW, STALE_FACTOR } = ALERT_TUNABLES;
