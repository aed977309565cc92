/**
 * Pure: the thresholds that say when something is a problem, one definition for the summary and
 * for the alert rules (scripts/render-alert-rules.ts renders the rules' tunables from here), so
 * a restart loop that paged is a restart loop in the next report.
 */

/** A gap between two exporter runs longer than this many intervals is reported. */
export const GAP_INTERVALS = 3;
/** Coverage under this fraction of the expected runs is a problem even without a long gap. */
export const MIN_COVERAGE = 0.9;
/** A restart loop: at least this many automatic restarts ... */
export const LOOP_RESTARTS = 5;
/** ... within this many seconds. */
export const LOOP_SPAN_SECONDS = 600;
/** A timer is stale when its last trigger is older than this many of its own intervals. */
export const STALE_FACTOR = 2;
