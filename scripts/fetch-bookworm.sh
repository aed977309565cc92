#!/usr/bin/env bash
# Fetch Debian 12 (bookworm) packages into the git-ignored cache, for tests and packaging:
#
#   fetch-bookworm.sh node18    nodejs 18 and libnode108 (what Debian 12 hosts run the bundle
#                               with), into .cache/node18/
#   fetch-bookworm.sh lintian   lintian, to check the .deb `npm run package` builds, into
#                               .cache/lintian/
#   fetch-bookworm.sh node-exporter
#                               prometheus-node-exporter 1.5.0, the peer scripts/bench/pid1.ts
#                               measures side by side (its systemd collector), into
#                               .cache/node-exporter/
#
# Like fetch-victoriametrics.sh, the system's apt sources and state are never touched: a private
# apt configuration under the cache reuses the mirror URIs of the system's own sources with
# Suites: bookworm bookworm-updates bookworm-security. What is fetched is the package and every
# dependency this host lacks (apt-get --simulate against the host's dpkg status, read only), as
# .debs in DIR/debs/ and unpacked with `dpkg -x` into DIR/root/.
#
# Nothing is installed on the host. The files belong at /usr/... paths (Debian's node loads
# libnode.so.108 and builtins such as /usr/share/nodejs/cjs-module-lexer/lexer.js from there and
# aborts at start without them), so they are used only inside the isolated systemd's root (the
# tests `dpkg -i` DIR/debs/*.deb there) or in a private mount namespace that overlays DIR/root/usr
# on /usr (scripts/in-bookworm-root.sh). Prints DIR as the last line.
set -euo pipefail

die() { echo "fetch-bookworm: $*" >&2; exit 1; }

set_name=${1:-}
case $set_name in
  # nodejs 18 as Debian 12 ships it (18.20.4; the bundle needs >= 18.19, the OTel 2.x floor).
  node18) WANT=(nodejs libnode108) VERSION_RE='^18\.(19|[2-9][0-9])\.' CHECK_BIN=usr/bin/node ;;
  lintian) WANT=(lintian) VERSION_RE='^2\.' CHECK_BIN=usr/bin/lintian ;;
  # A static Go binary: only the binary is used (run inside the isolated systemd), not its unit.
  node-exporter) WANT=(prometheus-node-exporter) VERSION_RE='^1\.5\.0' CHECK_BIN=usr/bin/prometheus-node-exporter ;;
  *) die "usage: fetch-bookworm.sh node18|lintian|node-exporter" ;;
esac

REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
readonly REPO_ROOT
readonly CACHE="$REPO_ROOT/.cache/$set_name"
readonly APT_DIR="$REPO_ROOT/.cache/bookworm-apt"
readonly ROOT="$CACHE/root"
readonly STAMP="$CACHE/.installed"

if [[ -f "$STAMP" && -x "$ROOT/$CHECK_BIN" ]]; then
  echo "$CACHE"
  exit 0
fi

# shellcheck source=apt-mirror.sh
source "$REPO_ROOT/scripts/apt-mirror.sh"
find_debian_mirror

mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial" "$CACHE"
readonly SRC="$APT_DIR/bookworm.sources"
cat >"$SRC" <<SOURCES
Types: deb
URIs: $uri
Suites: bookworm bookworm-updates
Components: main
Signed-By: $keyring

Types: deb
URIs: $security_uri
Suites: bookworm-security
Components: main
Signed-By: $keyring
SOURCES

# The host's dpkg status is read (to fetch only what it lacks), never written: --simulate
# takes no lock and changes nothing.
APTOPTS=(
  -o "Dir::Etc::SourceList=$SRC"
  -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$APT_DIR/lists"
  -o "Dir::Cache=$APT_DIR/cache"
  -o Dir::Etc::Preferences=/dev/null
  -o Dir::Etc::PreferencesParts=/dev/null
  -o APT::Sandbox::User=root
)
export DEBIAN_FRONTEND=noninteractive

log="$CACHE/apt.log"
# One update serves every set; redone when older than a day.
if [[ -z $(find "$APT_DIR/lists" -maxdepth 1 -name '*_InRelease' -mmin -1440 2>/dev/null | head -n 1) ]]; then
  if ! apt-get "${APTOPTS[@]}" -q update </dev/null >"$log" 2>&1; then
    show_apt_errors "$log"
    die "apt-get update for bookworm from $uri failed (full log: $log)"
  fi
fi

# The archive's candidate (bookworm-security's when it has one; not a newer version installed on
# the host from elsewhere), checked against what we need.
args=()
for pkg in "${WANT[@]}"; do
  version=$(apt-cache "${APTOPTS[@]}" -o Dir::State::status=/dev/null policy "$pkg" | awk '/Candidate:/ { print $2 }')
  [[ -n "$version" && "$version" != "(none)" ]] || die "bookworm has no $pkg"
  [[ "$version" =~ $VERSION_RE ]] || die "bookworm's $pkg is $version, not what is expected ($VERSION_RE)"
  args+=("$pkg=$version")
done
# `Inst NAME [old] (VERSION ...)`: every package a real install on this host would unpack.
if ! apt-get "${APTOPTS[@]}" -q --simulate --no-install-recommends --allow-downgrades install "${args[@]}" </dev/null >>"$log" 2>&1; then
  show_apt_errors "$log"
  die "apt-get --simulate install ${args[*]} failed (full log: $log)"
fi
mapfile -t closure < <(awk '/^Inst / { v = $3; if (v ~ /^\[/) v = $4; sub(/^\(/, "", v); print $2 "=" v }' "$log" | sort -u)
[[ ${#closure[@]} -gt 0 ]] || die "apt-get --simulate install ${args[*]} installs nothing (full log: $log)"

rm -rf "$CACHE/debs" "$ROOT"
mkdir -p "$CACHE/debs"
if ! (cd "$CACHE/debs" && apt-get "${APTOPTS[@]}" -q download "${closure[@]}" </dev/null >>"$log" 2>&1); then
  show_apt_errors "$log"
  die "apt-get download of ${#closure[@]} packages failed (full log: $log)"
fi
count=$(find "$CACHE/debs" -name '*.deb' | wc -l)
[[ $count -eq ${#closure[@]} ]] || die "expected ${#closure[@]} .debs in $CACHE/debs, found $count"
for deb in "$CACHE"/debs/*.deb; do
  dpkg -x "$deb" "$ROOT" || die "dpkg -x $deb failed"
done
[[ -x "$ROOT/$CHECK_BIN" ]] || die "the packages did not contain $CHECK_BIN"
printf '%s\n' "${closure[@]}" >"$CACHE/packages.txt"

touch "$STAMP"
echo "$CACHE"
