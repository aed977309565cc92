#!/usr/bin/env bash
# Boots a real systemd 252 as PID 1 of its own PID+mount+UTS+IPC+cgroup(+net) namespaces, on an
# overlay of / whose writes land in a tmpfs, with only our units. Used by sandbox.ts; runnable by
# hand (see README.md).
#
# Why so careful: a systemd booted WITHOUT this isolation runs tmpfiles, getty, postgres and apt
# timers against the real host and deletes files under /tmp (seen on these machines). So the last
# stage verifies every isolation property from inside and REFUSES (exit 3) to exec systemd unless
# all of them hold.
#
# Stages (each execs the next, so the pids are the ones sandbox.ts started):
#   host   (default) checks root/tools, creates the private cgroup, then execs `script` so that
#          PID 1 gets a pty it can bind onto /dev/console
#   cgroup moves itself into the private cgroup, writes its pid (= unshare's) to STATE/unshare.pid,
#          execs unshare
#   inner  PID 1 of the new namespaces: builds the root, pivots, verifies, execs systemd
#
# Usage: launch.sh --state DIR --name NAME --units DIR [--user-units DIR] --target UNIT
#                  [--host-network] [--stamp UNIT=AGE_SECONDS]... [--dry-run [--skip STEP]...]
#   --state DIR   an empty host directory for this sandbox (the work tmpfs is mounted on it, but only
#                 inside the sandbox's mount namespace)
#   --name NAME   the cgroup /sys/fs/cgroup/unified/NAME (must not exist; sandbox.ts removes it)
#   --units DIR   the system units (copied, with the stock units below, into the unit path)
#   --dry-run     do everything up to the checks, print "isolation verified" and exit 0 instead of
#                 exec'ing systemd
#   --skip STEP   (only with --dry-run) leave out one isolation step, to test that the checks refuse:
#                 tmpfs-run tmpfs-tmp tmpfs-var-tmp tmpfs-etc-units pivot cgroup-mount
#                 (none of them lets a write reach the host: those still land in the overlay)
set -euo pipefail

readonly EXIT_REFUSED=3
die() { echo "hb-sandbox: $*" >&2; exit 1; }
refuse() { echo "hb-sandbox: REFUSING to boot systemd: $*" >&2; exit "$EXIT_REFUSED"; }

# Stock units systemd needs to reach our target and to exit: copied verbatim, nothing else.
readonly STOCK_SYSTEM_UNITS="basic.target sysinit.target sockets.target timers.target paths.target
slices.target local-fs.target local-fs-pre.target swap.target shutdown.target umount.target
final.target exit.target systemd-exit.service dbus.service dbus.socket systemd-journald.service
systemd-journald.socket systemd-journald-dev-log.socket"
readonly STOCK_USER_UNITS="basic.target sockets.target timers.target paths.target shutdown.target
exit.target systemd-exit.service"
readonly SYSTEMD=/usr/lib/systemd/systemd
readonly SANDBOX_UNITS=/usr/lib/hb-sandbox/system
readonly SANDBOX_USER_UNITS=/usr/lib/hb-sandbox/user
# /etc/systemd/system is a fresh tmpfs inside, first so tests (and `install`) can add or override
# units; /run/systemd/transient because an explicit SYSTEMD_UNIT_PATH drops it (systemd-run).
readonly UNIT_PATH="/etc/systemd/system:/run/systemd/transient:$SANDBOX_UNITS"
# Capabilities PID 1 and everything under it lose for good: nothing in the sandbox may load
# modules, set the clock, touch raw I/O or audit, or reconfigure the (possibly host's) network.
readonly DROP_CAPS="-sys_module,-sys_time,-sys_rawio,-sys_pacct,-sys_tty_config,-mac_admin,-mac_override,-net_admin,-net_raw,-wake_alarm,-block_suspend,-audit_control,-lease,-bpf,-perfmon,-checkpoint_restore,-syslog"

STAGE=host
if [ "${1:-}" = "--stage" ]; then STAGE=$2; shift 2; fi

if [ "$STAGE" = host ]; then
  HB_STATE='' HB_NAME='' HB_UNITS='' HB_USER_UNITS='' HB_TARGET='' HB_HOST_NETWORK=0 HB_DRY_RUN=0
  HB_STAMPS='' HB_SKIP=''
  while [ $# -gt 0 ]; do
    case $1 in
      --state) HB_STATE=$2; shift 2 ;;
      --name) HB_NAME=$2; shift 2 ;;
      --units) HB_UNITS=$2; shift 2 ;;
      --user-units) HB_USER_UNITS=$2; shift 2 ;;
      --target) HB_TARGET=$2; shift 2 ;;
      --host-network) HB_HOST_NETWORK=1; shift ;;
      --stamp) HB_STAMPS="$HB_STAMPS $2"; shift 2 ;;
      --dry-run) HB_DRY_RUN=1; shift ;;
      --skip) HB_SKIP="$HB_SKIP $2"; shift 2 ;;
      *) die "unknown argument $1 (see the header of $0)" ;;
    esac
  done
  [ -n "$HB_STATE" ] && [ -n "$HB_NAME" ] && [ -n "$HB_UNITS" ] && [ -n "$HB_TARGET" ] ||
    die "--state, --name, --units and --target are required"
  [[ $HB_NAME =~ ^[A-Za-z0-9_.-]+$ ]] || die "--name $HB_NAME: letters, digits, _ . - only"
  [ -n "$HB_SKIP" ] && [ "$HB_DRY_RUN" != 1 ] && die "--skip is only allowed with --dry-run (it exists to test the refusal)"
  [ "$(id -u)" = 0 ] || die "must run as root (unshare, mount, pivot_root)"
  [ -x "$SYSTEMD" ] || die "$SYSTEMD not found"
  for tool in unshare script setpriv pivot_root mount umount mknod; do
    command -v "$tool" >/dev/null || die "$tool not found"
  done
  [ -d "$HB_STATE" ] && [ -z "$(ls -A "$HB_STATE")" ] || die "--state $HB_STATE must be an empty directory"
  [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] ||
    die "/sys/fs/cgroup/unified is not a cgroup2 mount (this harness expects the hybrid layout)"
  [ ! -e "/sys/fs/cgroup/unified/$HB_NAME" ] || die "cgroup $HB_NAME already exists"
  mkdir "/sys/fs/cgroup/unified/$HB_NAME"
  HB_HOST_MNT_NS=$(readlink /proc/self/ns/mnt)
  HB_HOST_CGROUP_NS=$(readlink /proc/self/ns/cgroup)
  HB_HOST_PID_NS=$(readlink /proc/self/ns/pid)
  HB_HOST_NET_NS=$(readlink /proc/self/ns/net)
  HB_SELF=$(readlink -f "$0")
  export HB_STATE HB_NAME HB_UNITS HB_USER_UNITS HB_TARGET HB_HOST_NETWORK HB_DRY_RUN HB_STAMPS HB_SKIP \
    HB_HOST_MNT_NS HB_HOST_CGROUP_NS HB_HOST_PID_NS HB_HOST_NET_NS HB_SELF
  # script gives the rest a pty: systemd as PID 1 wants a /dev/console, and a pty is the one
  # console that cannot reach the host's. --pdeathsig here and on unshare chain a SIGKILL down
  # to systemd when whoever started us dies, even by SIGKILL: script dies with its parent,
  # unshare with script, and unshare --kill-child takes PID 1 (and with it the namespace).
  SHELL=/bin/bash exec setpriv --pdeathsig KILL -- script -qfec "exec $(printf '%q' "$HB_SELF") --stage cgroup" /dev/null
fi

if [ "$STAGE" = cgroup ]; then
  echo $$ >"/sys/fs/cgroup/unified/$HB_NAME/cgroup.procs"
  [ "$(grep '^0::' /proc/self/cgroup)" = "0::/$HB_NAME" ] || refuse "could not enter cgroup /$HB_NAME"
  echo $$ >"$HB_STATE/unshare.pid"
  net=--net
  [ "$HB_HOST_NETWORK" = 1 ] && net=
  # shellcheck disable=SC2086
  exec setpriv --pdeathsig KILL -- unshare --pid --fork --kill-child --mount --propagation private --uts --ipc $net --cgroup \
    -- "$HB_SELF" --stage inner
fi

[ "$STAGE" = inner ] || die "unknown stage $STAGE"
[ $$ = 1 ] || refuse "the inner stage must be PID 1 of a new PID namespace (is $$)"
# Before the first mount: this must already be a mount namespace of our own.
[ -n "${HB_HOST_MNT_NS:-}" ] && [ "$(readlink /proc/self/ns/mnt)" != "$HB_HOST_MNT_NS" ] ||
  refuse "the inner stage runs in the host's mount namespace (start launch.sh without --stage)"

skip() { case " $HB_SKIP " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

console=$(tty) || refuse "no pty on stdin (the host stage runs us under script)"
mount --make-rprivate /
MNT=$HB_STATE/mnt
mkdir -p "$MNT"
mount -t tmpfs -o mode=0755 hb-sandbox "$MNT"
mkdir "$MNT/upper" "$MNT/work" "$MNT/root"
NEW=$MNT/root
mount -t overlay overlay -o "lowerdir=/,upperdir=$MNT/upper,workdir=$MNT/work" "$NEW"

mount -t proc -o nosuid,nodev,noexec proc "$NEW/proc"
mount --bind "$NEW/proc/sys" "$NEW/proc/sys"
mount -o remount,bind,ro "$NEW/proc/sys"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$NEW/sys"
skip cgroup-mount || mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$NEW/sys/fs/cgroup"

mount -t tmpfs -o mode=0755,nosuid hb-dev "$NEW/dev"
mknod -m 666 "$NEW/dev/null" c 1 3
mknod -m 666 "$NEW/dev/zero" c 1 5
mknod -m 666 "$NEW/dev/full" c 1 7
mknod -m 666 "$NEW/dev/random" c 1 8
mknod -m 666 "$NEW/dev/urandom" c 1 9
mknod -m 666 "$NEW/dev/tty" c 5 0
mkdir "$NEW/dev/pts" "$NEW/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,nosuid,noexec devpts "$NEW/dev/pts"
ln -s pts/ptmx "$NEW/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev hb-shm "$NEW/dev/shm"
ln -s /proc/self/fd "$NEW/dev/fd"
ln -s /proc/self/fd/0 "$NEW/dev/stdin"
ln -s /proc/self/fd/1 "$NEW/dev/stdout"
ln -s /proc/self/fd/2 "$NEW/dev/stderr"
touch "$NEW/dev/console"
mount --bind "$console" "$NEW/dev/console"

skip tmpfs-run || mount -t tmpfs -o mode=0755,nosuid,nodev hb-run "$NEW/run"
skip tmpfs-tmp || mount -t tmpfs -o mode=1777,nosuid,nodev hb-tmp "$NEW/tmp"
skip tmpfs-var-tmp || mount -t tmpfs -o mode=1777,nosuid,nodev hb-var-tmp "$NEW/var/tmp"
mkdir -p "$NEW/etc/systemd/system"
skip tmpfs-etc-units || mount -t tmpfs -o mode=0755 hb-etc-units "$NEW/etc/systemd/system"

# Our units, then copies of the stock ones. Written into the overlay (so into the tmpfs).
[ ! -e "$NEW$SANDBOX_UNITS" ] || refuse "$SANDBOX_UNITS exists on the host"
mkdir -p "$NEW$SANDBOX_UNITS"
cp -a "$HB_UNITS/." "$NEW$SANDBOX_UNITS/"
for unit in $STOCK_SYSTEM_UNITS; do cp -a "/usr/lib/systemd/system/$unit" "$NEW$SANDBOX_UNITS/"; done
if [ -n "$HB_USER_UNITS" ]; then
  mkdir -p "$NEW$SANDBOX_USER_UNITS"
  cp -a "$HB_USER_UNITS/." "$NEW$SANDBOX_USER_UNITS/"
  for unit in $STOCK_USER_UNITS; do cp -a "/usr/lib/systemd/user/$unit" "$NEW$SANDBOX_USER_UNITS/"; done
fi
# Timer stamps: UNIT=AGE backdates /var/lib/systemd/timers/stamp-UNIT (Persistent=true timers).
mkdir -p "$NEW/var/lib/systemd/timers"
now=$(date +%s)
for stamp in $HB_STAMPS; do
  unit=${stamp%%=*} age=${stamp#*=}
  [[ $unit =~ ^[A-Za-z0-9_@.\\-]+\.timer$ && $age =~ ^[0-9]+$ ]] || die "--stamp $stamp: want UNIT.timer=SECONDS"
  touch -d "@$((now - age))" "$NEW/var/lib/systemd/timers/stamp-$unit"
done
# Expected unit directory listing, taken before the pivot hides the host.
expected_units=$(
  { (cd "$HB_UNITS" && find . -mindepth 1 -printf '%P\n'); printf '%s\n' $STOCK_SYSTEM_UNITS; } | sort -u
)

hostname hb-sandbox

if ! skip pivot; then
  cd "$NEW"
  mkdir -p .hb-oldroot
  pivot_root . .hb-oldroot
  cd /
  umount -l /.hb-oldroot
  rmdir /.hb-oldroot
fi

# ---- verification: every property below must hold, or nothing boots --------------------------
fstype() { stat -f -c %T "$1" 2>/dev/null || echo missing; }
[ "$(readlink /proc/self/ns/mnt)" != "$HB_HOST_MNT_NS" ] || refuse "mount namespace is the host's"
[ "$(readlink /proc/self/ns/pid)" != "$HB_HOST_PID_NS" ] || refuse "PID namespace is the host's"
[ "$(readlink /proc/self/ns/cgroup)" != "$HB_HOST_CGROUP_NS" ] || refuse "cgroup namespace is the host's"
if [ "$HB_HOST_NETWORK" != 1 ]; then
  [ "$(readlink /proc/self/ns/net)" != "$HB_HOST_NET_NS" ] || refuse "network namespace is the host's"
fi
[ "$(fstype /)" = overlayfs ] || refuse "/ is $(fstype /), not the overlay"
for dir in /run /tmp /var/tmp /etc/systemd/system /dev; do
  [ "$(fstype "$dir")" = tmpfs ] || refuse "$dir is $(fstype "$dir"), not a tmpfs"
done
# The old root must be gone: no mount of a block device (the host's / is ext4 on /dev/vda) and
# nothing but the overlay's lower layer reaches the host's disk.
if awk '{ for (i = 7; $i != "-"; i++); if ($(i + 2) ~ "^/dev/") found = 1 } END { exit !found }' \
  /proc/self/mountinfo; then
  refuse "a host block device is still mounted (old root not detached): $(awk '{print $5}' /proc/self/mountinfo | tr '\n' ' ')"
fi
[ "$(fstype /sys/fs/cgroup)" = cgroup2fs ] || refuse "/sys/fs/cgroup is $(fstype /sys/fs/cgroup), not our cgroup2 subtree"
[ "$(grep '^0::' /proc/self/cgroup)" = "0::/" ] || refuse "not at the root of the private cgroup namespace"
# test -w is access(2), which answers EROFS for a read-only mount even to root.
[ ! -w /proc/sys/kernel ] || refuse "/proc/sys is writable"
[ ! -w /sys/kernel ] || refuse "/sys is writable"
actual_units=$(cd "$SANDBOX_UNITS" && find . -mindepth 1 -printf '%P\n' | sort)
[ "$actual_units" = "$expected_units" ] || refuse "unit directory holds unexpected units: $(
  comm -3 <(echo "$actual_units") <(echo "$expected_units") | tr -d '\t' | tr '\n' ' ')"
[ -z "$(ls -A /etc/systemd/system)" ] || refuse "/etc/systemd/system is not empty"
[ "$(cat /proc/sys/kernel/hostname)" = hb-sandbox ] || refuse "hostname is the host's"

if [ "$HB_DRY_RUN" = 1 ]; then
  echo "hb-sandbox: isolation verified (dry run, systemd not started)"
  exit 0
fi

exec setpriv --bounding-set "$DROP_CAPS" -- \
  env -i container=other PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  SYSTEMD_UNIT_PATH="$UNIT_PATH" SYSTEMD_GENERATOR_PATH='' SYSTEMD_ENVIRONMENT_GENERATOR_PATH='' \
  "$SYSTEMD" --system --unit="$HB_TARGET" --log-target=console --show-status=no
