/**
 * Defaults more than one part reads: written once here. The alert rules' template
 * (alerts/systemd-heartbeat.rules.template.yml) and the summary assume the same period, and
 * test/alerts.test.ts checks the template's default against this.
 */

/** How often the timer runs the exporter (install's default) and what `summary` expects. */
export const DEFAULT_PERIOD_SECONDS = 30;

/** Where VictoriaMetrics takes OTLP/HTTP metrics; the OTel base form for it is http://HOST:8428/opentelemetry. */
export const VM_OTLP_PATH = '/opentelemetry/v1/metrics';

/** The systemd credential (LoadCredential=) holding a bearer token for the push. */
export const TOKEN_CREDENTIAL = 'otlp-token';

/**
 * A tick asks `systemctl show` only for the units that may have changed since the previous one
 * (src/systemd/changes.ts) and shows every unit at least this often: the bound on how late a
 * change no state, invocation or journal entry tells of (`systemctl reset-failed` on an active
 * unit) is seen. 0: every tick shows every unit.
 */
export const DEFAULT_FULL_SHOW_SECONDS = 300;
