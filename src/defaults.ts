/**
 * Defaults more than one part reads: written once here. The alert rules' template
 * (alerts/systemd-heartbeat.rules.template.yml) and the summary assume the same period, and
 * test/alerts.test.ts checks the template's default against this.
 */

/** How often the timer runs the exporter (install's default) and what `summary` expects. */
export const DEFAULT_PERIOD_SECONDS = 30;
