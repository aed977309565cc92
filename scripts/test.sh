#!/usr/bin/env bash
# `npm test`: type-check, lint and format check (Biome: `npm run format` fixes), build the shipped bundle, make sure VictoriaMetrics is in the
# cache, then every *.test.ts with node's test runner (through tsx).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
npx tsc --noEmit
npx biome ci --colors=off --reporter=summary >/dev/null || npx biome ci --colors=off
npm run --silent build
bash scripts/fetch-victoriametrics.sh >/dev/null
mapfile -t files < <(find test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
if [ "$#" -gt 0 ]; then files=("$@"); fi
exec node --import tsx --test --test-reporter=spec "${files[@]}"
