# shellcheck shell=bash
# Target "dmfs": the reference backend. Starts dmfsd on guest loopback over a
# tmpfs, loads the dmfs kernel module built on the host, and mounts N clients:
# N connections, N superblocks, N page caches, N lock caches - N "nodes".
# Interface: see docs/guest-runner.md ("Writing a target"); kmod design in
# docs/kmod.md.
#
# Settings (environment, forwarded from the host as DMMAP_*):
#   DMMAP_BUILD_DIR      build tree holding reference/dmfsd and
#                        reference/kmod/kbuild/dmfs.ko
#   DMMAP_DMFS_KO        explicit path of dmfs.ko (overrides the build tree)
#   DMMAP_DMFSD          explicit path of dmfsd (overrides the build tree)
#   DMMAP_DMFS_KMOD_PARAMS  module parameters, e.g. "fi_skip_fault_lock=1"
#   DMMAP_DMFSD_ARGS     extra dmfsd arguments (e.g. its fault-injection switches)
#   DMMAP_DMFS_PORT      TCP port on 127.0.0.1 (default 7049)
#   DMMAP_DMFS_REVOKE_TIMEOUT  dmfsd --revoke-timeout (default 10s), declared in DMMAP_PROFILE
#
# Exports for the command: DMMAP_DIRS; DMMAP_HOOK (ci/guest/targets/dmfs-hook,
# the target hook of dmmap-conform's eviction checks) with the DMMAP_DMFSD and
# DMMAP_DMFS_ADMIN (dmfsd's admin socket) it needs; DMMAP_PROFILE, a target
# profile (docs/conformance.md) declaring what this dmfsd does: it evicts a
# client that ignores a revoke for 10 s (not its default 30 s; see
# DMMAP_DMFS_REVOKE_TIMEOUT).

# shellcheck source=ci/guest/targets/dmfs-find
. "$DMMAP_SOURCE_DIR/ci/guest/targets/dmfs-find"

dmfsd_pid=
target_setup() {
  local root=$DMMAP_TARGET_ROOT i dirs=() ko dmfsd port revoke_timeout=${DMMAP_DMFS_REVOKE_TIMEOUT:-10s}
  port=${DMMAP_DMFS_PORT:-7049}
  dmfs_find || return 1

  mkdir -p "$root/dmfs-export"
  mount -t tmpfs -o mode=1777 dmmap-dmfs-export "$root/dmfs-export"
  # shellcheck disable=SC2086
  "$dmfsd" --root "$root/dmfs-export" --listen "127.0.0.1:$port" \
    --admin "$root/dmfsd-admin.sock" --revoke-timeout "$revoke_timeout" \
    ${DMMAP_DMFSD_ARGS:-} >"$DMMAP_OUT/dmfsd.log" 2>&1 &
  dmfsd_pid=$!
  for i in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    kill -0 "$dmfsd_pid" 2>/dev/null || { echo "dmfs: dmfsd exited, see dmfsd.log" >&2; cat "$DMMAP_OUT/dmfsd.log" >&2; return 1; }
    sleep 0.1
  done

  # shellcheck disable=SC2086
  insmod "$ko" ${DMMAP_DMFS_KMOD_PARAMS:-}
  for ((i = 0; i < DMMAP_CLIENTS; i++)); do
    mkdir -p "$root/client$i"
    mount -t dmfs -o "server=127.0.0.1:$port" none "$root/client$i"
    dirs+=("$root/client$i")
  done
  grep " dmfs " /proc/mounts
  DMMAP_DIRS=$(IFS=,; echo "${dirs[*]}")
  DMMAP_HOOK=$DMMAP_SOURCE_DIR/ci/guest/targets/dmfs-hook
  DMMAP_DMFS_ADMIN=$root/dmfsd-admin.sock
  DMMAP_DMFSD=$dmfsd
  DMMAP_PROFILE=$root/dmfs-guest.profile
  {
    echo "describes dmfs in the guest target (ci/guest/targets/dmfs.sh)"
    echo "eviction-timeout $revoke_timeout  this dmfsd runs with --revoke-timeout $revoke_timeout"
    grep -E '^(timestamp-granularity|cluster-etxtbsy|flock) ' "$DMMAP_SOURCE_DIR/conformance/profiles/dmfs.profile"
  } >"$DMMAP_PROFILE"
  export DMMAP_DIRS DMMAP_HOOK DMMAP_DMFS_ADMIN DMMAP_DMFSD DMMAP_PROFILE
}

target_teardown() {
  local root=$DMMAP_TARGET_ROOT i rc=0
  for ((i = 0; i < DMMAP_CLIENTS; i++)); do
    umount "$root/client$i" || rc=1
  done
  rmmod dmfs || rc=1
  if [ -n "$dmfsd_pid" ]; then
    kill -TERM "$dmfsd_pid" 2>/dev/null
    wait "$dmfsd_pid" || true
  fi
  umount "$root/dmfs-export" || rc=1
  return $rc
}
