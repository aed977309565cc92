#!/usr/bin/env bash
# `npm start`: on a fresh clone, install, build, and run the exporter once against a real
# VictoriaMetrics (a throw-away local one unless OTEL_EXPORTER_OTLP_[METRICS_]ENDPOINT is
# set), then print what landed. See scripts/start.ts for where the units come from.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent build
if [ -z "${OTEL_EXPORTER_OTLP_METRICS_ENDPOINT:-}${OTEL_EXPORTER_OTLP_ENDPOINT:-}" ]; then
  bash scripts/fetch-victoriametrics.sh >/dev/null
fi
exec node --import tsx scripts/start.ts "$@"
