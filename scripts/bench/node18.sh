#!/usr/bin/env bash
# The tick on Debian 12's nodejs 18 beside the node that builds (docs/packages.md): the built
# bundle with no code cache, with a cache made by node 18 (dist/make-code-cache.cjs run by it) and
# with the build's cache (made by the building node, so node 18 must ignore it), each timed by
# scripts/bench/ab.ts against the floor, once under each node. Node 18 runs in a private mount
# namespace (scripts/in-bookworm-root.sh); nothing is installed on the host. Needs root.
#
#   bash scripts/bench/node18.sh [--reps 30]
set -euo pipefail
cd "$(dirname "$0")/../.."
node18=$(bash scripts/fetch-bookworm.sh node18)
npm run --silent build
dir=.cache/bench-node18
rm -rf "$dir"
mkdir -p "$dir/nocache" "$dir/cache18" "$dir/cache20"
cp dist/systemd-heartbeat.cjs "$dir/nocache/"
cp dist/systemd-heartbeat.cjs dist/make-code-cache.cjs "$dir/cache18/"
cp dist/systemd-heartbeat.cjs dist/systemd-heartbeat.code-cache "$dir/cache20/"
bash scripts/in-bookworm-root.sh "$node18" node "$dir/cache18/make-code-cache.cjs" "$dir/cache18"
entries=(nocache="$dir/nocache/systemd-heartbeat.cjs" cache18="$dir/cache18/systemd-heartbeat.cjs" cache20="$dir/cache20/systemd-heartbeat.cjs")
echo "# $(node --version) (the build's node; cache20 is its cache)"
node --import tsx scripts/bench/ab.ts "$@" "${entries[@]}"
echo "# $(bash scripts/in-bookworm-root.sh "$node18" node --version) (Debian 12)"
bash scripts/in-bookworm-root.sh "$node18" node --import tsx scripts/bench/ab.ts "$@" "${entries[@]}"
