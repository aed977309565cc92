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
