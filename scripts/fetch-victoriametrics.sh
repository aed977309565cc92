#!/usr/bin/env bash
# Fetch Debian trixie's victoria-metrics package (victoria-metrics, vmalert, vmalert-tool,
# vmagent, ...) into the git-ignored cache .cache/victoria-metrics/ for integration tests.
#
# The system's apt sources are never touched: a private apt configuration under the cache
# reuses the mirror URI of the system's own sources, with Suites: trixie. The version is
# pinned because the test expectations (OTLP naming, vmalert behaviour) were measured on it;
# see /work/shared/notes/victoriametrics-otlp.md. Prints the bin dir as the last line.
set -euo pipefail

readonly PKG=victoria-metrics
readonly PKG_VERSION=1.112.0+ds1-2
readonly UPSTREAM_VERSION=1.112.0

REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
readonly REPO_ROOT
readonly CACHE="$REPO_ROOT/.cache/victoria-metrics"
readonly ROOT="$CACHE/root"
readonly BIN="$ROOT/usr/bin"
readonly STAMP="$CACHE/.installed-$PKG_VERSION"

die() { echo "fetch-victoriametrics: $*" >&2; exit 1; }

# Fast path: everything present from an earlier run. The stamp is written only after the
# binaries were checked, so a half-finished run is redone.
if [[ -f "$STAMP" && -x "$BIN/victoria-metrics" && -x "$BIN/vmalert" && -x "$BIN/vmalert-tool" ]]; then
  echo "$BIN"
  exit 0
fi

# shellcheck source=apt-mirror.sh
source "$REPO_ROOT/scripts/apt-mirror.sh"
find_debian_mirror

mkdir -p "$CACHE/apt/lists/partial" "$CACHE/apt/cache/archives/partial"
readonly SRC="$CACHE/apt/trixie.sources"
cat >"$SRC" <<SOURCES
Types: deb
URIs: $uri
Suites: trixie
Components: main
Signed-By: $keyring
SOURCES

# Dir::State::status=/dev/null: resolve nothing against the host's installed packages;
# `download` fetches just the one .deb, no dependencies (the binaries are static Go).
APTOPTS=(
  -o "Dir::Etc::SourceList=$SRC"
  -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$CACHE/apt/lists"
  -o "Dir::Cache=$CACHE/apt/cache"
  -o Dir::State::status=/dev/null
  -o APT::Sandbox::User=root
)
export DEBIAN_FRONTEND=noninteractive

log="$CACHE/apt.log"
if ! apt-get "${APTOPTS[@]}" -q update </dev/null >"$log" 2>&1; then
  show_apt_errors "$log"
  die "apt-get update for trixie from $uri failed (full log: $log)"
fi

rm -f "$CACHE"/${PKG}_*.deb
if ! (cd "$CACHE" && apt-get "${APTOPTS[@]}" -q download "$PKG=$PKG_VERSION" </dev/null >>"$log" 2>&1); then
  show_apt_errors "$log"
  die "apt-get download $PKG=$PKG_VERSION failed (full log: $log)"
fi
deb=$(ls "$CACHE"/${PKG}_*.deb 2>/dev/null | head -n 1)
[[ -n "$deb" ]] || die "apt-get download reported success but no $PKG .deb is in $CACHE"

rm -rf "$ROOT"
dpkg -x "$deb" "$ROOT" || die "dpkg -x $deb failed"

for b in victoria-metrics vmalert vmalert-tool; do
  [[ -x "$BIN/$b" ]] || die "$deb did not contain $BIN/$b"
done
# Debian's 1.112.0+ds1-2 build does not stamp buildinfo: `victoria-metrics --version` exits 0
# but prints an empty line. So --version proves the binaries run on this host (they are
# cgo-linked against trixie's libc; vmalert-tool has no --version, so --help), and the version is checked on the package itself.
for b in victoria-metrics vmalert; do
  out=$("$BIN/$b" --version 2>&1) || die "$BIN/$b does not run on this host: $out"
done
out=$("$BIN/vmalert-tool" --help 2>&1) || die "$BIN/vmalert-tool does not run on this host: $out"
deb_version=$(dpkg-deb -f "$deb" Version) || die "cannot read the Version of $deb"
[[ "$deb_version" == "$PKG_VERSION" ]] || die "expected $PKG $PKG_VERSION, downloaded $deb_version"
version=$("$BIN/victoria-metrics" --version 2>&1)
if [[ -n "$version" && "$version" != *"$UPSTREAM_VERSION"* ]]; then
  die "expected victoria-metrics $UPSTREAM_VERSION, --version says: $version"
fi

rm -f "$CACHE"/.installed-*
touch "$STAMP"
echo "$BIN"
