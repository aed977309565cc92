#!/usr/bin/env bash
# Runs a command in a private mount namespace where /usr is an overlay of DIR/root/usr (packages
# scripts/fetch-bookworm.sh unpacked) on the host's /usr: Debian's node 18 or lintian then find
# their files at the /usr paths they were built for, and nothing outside this one process tree
# sees them. The overlay is read-only and vanishes with the namespace; the host is not changed.
#
#   scripts/in-bookworm-root.sh .cache/node18 node --version
#   scripts/in-bookworm-root.sh .cache/lintian lintian dist/systemd-heartbeat_0.1.0_all.deb
#
# Needs root (unshare --mount). Exits with the command's status.
set -euo pipefail
[[ $# -ge 2 ]] || { echo "usage: in-bookworm-root.sh DIR COMMAND [ARG]..." >&2; exit 2; }
dir=$(cd "$1" && pwd)
shift
[[ -d "$dir/root/usr" ]] || { echo "in-bookworm-root: $dir/root/usr is missing (run scripts/fetch-bookworm.sh)" >&2; exit 2; }
# A mount namespace of our own, private propagation: the mount never reaches the host's.
exec unshare --mount --propagation private -- bash -c '
  set -e
  mount -t overlay -o ro,lowerdir="$1/root/usr:/usr" hb-bookworm /usr
  shift
  exec "$@"
' in-bookworm-root "$dir" "$@"
