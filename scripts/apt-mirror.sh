# Sourced by fetch-victoriametrics.sh and fetch-bookworm.sh (which define die): the Debian
# mirror and archive keyring of the system's own apt configuration, read only, for their
# private apt configurations. Sets uri (the main archive), security_uri and keyring.

# apt's own error lines (E:), or the log's tail when it printed none.
show_apt_errors() { grep -E '^E:' "$1" >&2 || tail -n 10 "$1" >&2; }

find_debian_mirror() {
  command -v apt-get >/dev/null || die "apt-get not found; this script needs a Debian-like system"
  command -v dpkg >/dev/null || die "dpkg not found; this script needs a Debian-like system"
  # deb822 first, then one-line sources (deb [options] URI suite components...; an optional
  # [...] options block skipped).
  uri="" security_uri="" keyring=""
  if [[ -r /etc/apt/sources.list.d/debian.sources ]]; then
    uri=$(awk '/^URIs:/ && $2 !~ /-security\/?$/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
    security_uri=$(awk '/^URIs:/ && $2 ~ /-security\/?$/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
    keyring=$(awk '/^Signed-By:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
  fi
  if [[ -z "$uri" && -r /etc/apt/sources.list ]]; then
    uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/ && $i !~ /-security\/?$/) { print $i; exit } }' /etc/apt/sources.list)
  fi
  [[ -n "$uri" ]] || die "no mirror URI found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
  # The security archive sits beside the main one on Debian's mirrors (.../debian -> .../debian-security).
  [[ -n "$security_uri" ]] || security_uri="${uri%/}-security"
  if [[ -z "$keyring" || ! -r "$keyring" ]]; then
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  fi
  [[ -r "$keyring" ]] || die "Debian archive keyring $keyring not found (install debian-archive-keyring)"
}
