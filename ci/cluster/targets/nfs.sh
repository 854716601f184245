# shellcheck shell=bash
# Cluster target "nfs": the kernel NFS server on node0 exports a tmpfs to the
# guest network; every node mounts it at DMMAP_DIR with the kernel NFS client:
# N nodes, N NFS clients (N client ids, N page caches). node0's own client
# mounts node0's own address (a loopback connection inside node0), so every
# rank reaches the data through an NFS client, as on a site where the server
# is also a compute node; its page cache is the client's, not the server's.
#
# NFSv3 (DMMAP_NFS_VERS=3, cluster-run --nfs-vers 3, the default) with real
# NLM locking (rpc.statd on every node, lockd grace period 10 s);
# DMMAP_NFS_LOCK=0 mounts nolock instead (fcntl locks local to each node).
# NFSv4.2: server defaults, delegations included (each node is its own NFSv4
# client; unlike two mounts in one guest, a delegation is a real one).
# Extra client mount options: DMMAP_NFS_OPTS (comma-separated, appended).
#
# Hook: ci/cluster/nft-hook freezes a node's NFS traffic (not its MPI or ssh
# traffic) with nftables; NFS has no client eviction (evict: exit 3).
# Interface: docs/cluster-run.md ("Writing a cluster target").

# Fixed ports, so that the hook can name the NFS traffic: nfsd, rpcbind,
# mountd, lockd, statd.
nfs_ports=2049,111,20048,32768,32765,32766

nfs_locking() { [ "$DMMAP_NFS_VERS" = 3 ] && [ "${DMMAP_NFS_LOCK:-1}" = 1 ]; }

nfs_modules() {
  # lockd's parameters count only when it is first loaded (before nfsd/nfs pull it in).
  modprobe lockd nlm_grace_period=10 nlm_tcpport=32768 nlm_udpport=32768
  modprobe nfsv3
  modprobe nfsv4
}

nfs_rpc_daemons() {
  mkdir -p /var/lib/nfs/rpc_pipefs /var/lib/nfs/v4recovery /var/lib/nfs/sm /var/lib/nfs/sm.bak /run/rpcbind
  mountpoint -q /var/lib/nfs/rpc_pipefs || mount -t rpc_pipefs sunrpc /var/lib/nfs/rpc_pipefs
  rpcbind -w
  if nfs_locking; then rpc.statd --no-notify --port 32765 --outgoing-port 32766; fi
}

target_server_setup() {
  local export=$DMMAP_TARGET_ROOT/nfs-export
  case "$DMMAP_NFS_VERS" in 3|4.2) ;; *) echo "nfs: unsupported NFS version $DMMAP_NFS_VERS" >&2; return 1 ;; esac
  nfs_modules
  modprobe nfsd
  mountpoint -q /proc/fs/nfsd || mount -t nfsd nfsd /proc/fs/nfsd
  # Shorter lease and grace periods (10 s is the kernel's minimum): an NFSv4
  # client's first open waits for the grace period to end.
  echo 10 >/proc/fs/nfsd/nfsv4leasetime
  echo 10 >/proc/fs/nfsd/nfsv4gracetime
  mkdir -p "$export"
  mount -t tmpfs -o mode=1777 dmmap-nfs-export "$export"
  printf '%s %s.0/24(rw,sync,no_root_squash,no_subtree_check,insecure,fsid=0)\n' \
    "$export" "${DMMAP_SERVER_ADDR%.*}" >/etc/exports
  nfs_rpc_daemons
  exportfs -ra
  rpc.mountd --port 20048
  rpc.nfsd --port 2049 8
  exportfs -v
}

target_node_setup() {
  local opts src
  [ "$DMMAP_NODE" -eq 0 ] || { nfs_modules; nfs_rpc_daemons; }
  if [ "$DMMAP_NFS_VERS" = 3 ]; then
    opts=vers=3
    nfs_locking || opts+=,nolock
    src=$DMMAP_SERVER_ADDR:$DMMAP_TARGET_ROOT/nfs-export
  else
    opts=vers=4.2
    src=$DMMAP_SERVER_ADDR:/ # fsid=0: the export is the NFSv4 pseudo-root
  fi
  [ -n "${DMMAP_NFS_OPTS:-}" ] && opts+=",$DMMAP_NFS_OPTS"
  mount -t nfs -o "$opts" "$src" "$DMMAP_DIR"
  grep " nfs" /proc/mounts
  DMMAP_HOOK=$DMMAP_SOURCE_DIR/ci/cluster/nft-hook
  DMMAP_FREEZE_PORTS=$nfs_ports
  DMMAP_FREEZE_NOT_ON=node0 # node0's traffic is the server's too
  export DMMAP_HOOK DMMAP_FREEZE_PORTS DMMAP_FREEZE_NOT_ON
}

target_node_teardown() {
  umount "$DMMAP_DIR"
}

target_server_teardown() {
  exportfs -ua
  rpc.nfsd 0
  umount "$DMMAP_TARGET_ROOT/nfs-export"
}
