# shellcheck shell=bash
# Cluster target "dmfs": the reference backend across real nodes. dmfsd runs
# on node0 over a tmpfs and listens on node0's guest-network address; every
# node (node0 too) loads the dmfs kernel module built on the host and mounts
# one client at DMMAP_DIR: N nodes, N kernels, N clients, N page caches.
# Settings as for ci/guest/targets/dmfs.sh: DMMAP_BUILD_DIR, DMMAP_DMFS_KO,
# DMMAP_DMFSD, DMMAP_DMFS_KMOD_PARAMS, DMMAP_DMFSD_ARGS, DMMAP_DMFS_PORT
# (default 7049; the admin relay uses the next port).
# Exports DMMAP_HOOK = ci/guest/targets/dmfs-hook, the same hook as in one
# guest: it runs on the node of the client concerned and reads that client's
# /sys/fs/dmfs/ files there. dmfsd's admin socket (DMMAP_DMFS_ADMIN) is on
# node0; socat relays it to the same path on every other node, so the hook
# works unchanged anywhere. (A site would reach its server's admin interface
# over ssh; here ssh costs tens of seconds per call under TCG.)
# dmfsd evicts a client that ignores a revoke for 10 s (not its default 30 s).
# Interface: docs/cluster-run.md ("Writing a cluster target").

# shellcheck source=ci/guest/targets/dmfs-find
. "$DMMAP_SOURCE_DIR/ci/guest/targets/dmfs-find"

dmfsd_pid="" relay_pid=""
target_server_setup() {
  local root=$DMMAP_TARGET_ROOT port=${DMMAP_DMFS_PORT:-7049} ko dmfsd i
  dmfs_find || return 1
  mkdir -p "$root/dmfs-export"
  mount -t tmpfs -o mode=1777 dmmap-dmfs-export "$root/dmfs-export"
  # shellcheck disable=SC2086
  "$dmfsd" --root "$root/dmfs-export" --listen "$DMMAP_SERVER_ADDR:$port" \
    --admin "$root/dmfsd-admin.sock" --revoke-timeout 10s \
    ${DMMAP_DMFSD_ARGS:-} >"$DMMAP_NODE_OUT/dmfsd.log" 2>&1 &
  dmfsd_pid=$!
  for i in $(seq 100); do
    (exec 3<>"/dev/tcp/$DMMAP_SERVER_ADDR/$port") 2>/dev/null && break
    kill -0 "$dmfsd_pid" 2>/dev/null || { echo "dmfs: dmfsd exited, see node0/dmfsd.log" >&2; cat "$DMMAP_NODE_OUT/dmfsd.log" >&2; return 1; }
    sleep 0.1
  done
  [ "$i" -lt 100 ] || { echo "dmfs: dmfsd does not accept connections on $DMMAP_SERVER_ADDR:$port after 10 s" >&2; return 1; }
  if [ "$DMMAP_NODES" -gt 1 ]; then
    socat "TCP-LISTEN:$((port + 1)),bind=$DMMAP_SERVER_ADDR,reuseaddr,fork" "UNIX-CONNECT:$root/dmfsd-admin.sock" &
    relay_pid=$!
  fi
}

target_node_setup() {
  local port=${DMMAP_DMFS_PORT:-7049} ko dmfsd
  dmfs_find || return 1
  # shellcheck disable=SC2086
  insmod "$ko" ${DMMAP_DMFS_KMOD_PARAMS:-}
  mount -t dmfs -o "server=$DMMAP_SERVER_ADDR:$port" none "$DMMAP_DIR"
  grep " dmfs " /proc/mounts
  DMMAP_HOOK=$DMMAP_SOURCE_DIR/ci/guest/targets/dmfs-hook
  DMMAP_DMFS_ADMIN=$DMMAP_TARGET_ROOT/dmfsd-admin.sock
  DMMAP_DMFSD=$dmfsd
  export DMMAP_HOOK DMMAP_DMFS_ADMIN DMMAP_DMFSD
  if [ "$DMMAP_NODE" -ne 0 ]; then
    socat "UNIX-LISTEN:$DMMAP_DMFS_ADMIN,fork,mode=600" "TCP:$DMMAP_SERVER_ADDR:$((port + 1))" &
    relay_pid=$!
    local i
    for i in $(seq 100); do
      [ -S "$DMMAP_DMFS_ADMIN" ] && break
      sleep 0.1
    done
    "$dmfsd" --ctl "$DMMAP_DMFS_ADMIN" clients # the relay reaches dmfsd
  fi
}

target_node_teardown() {
  local rc=0
  umount "$DMMAP_DIR" || rc=1
  rmmod dmfs || rc=1
  stop_relay
  return $rc
}

stop_relay() {
  [ -n "$relay_pid" ] || return 0
  kill -TERM "$relay_pid" 2>/dev/null
  wait "$relay_pid" || true
  relay_pid=
}

target_server_teardown() {
  stop_relay
  if [ -n "$dmfsd_pid" ]; then
    kill -TERM "$dmfsd_pid" 2>/dev/null
    wait "$dmfsd_pid" || true
  fi
  umount "$DMMAP_TARGET_ROOT/dmfs-export"
}
