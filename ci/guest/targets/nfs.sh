# shellcheck shell=bash
# Target "nfs": the kernel NFS server inside the guest exports a tmpfs over
# loopback; N client mounts with nosharecache are N superblocks and N page
# caches, like N nodes. NFSv3 (nolock) by default; DMMAP_NFS_VERS=4.2
# (guest-run --nfs-vers 4.2) mounts NFSv4.2 with leases disabled on the
# server, so that no delegation hides staleness between the mounts, which
# share one NFSv4 client id (docs/guest-runner.md, "Targets").
# Extra client mount options: DMMAP_NFS_OPTS (comma-separated, appended).
# DMMAP_NFS_LOCK=1 (v3 only): real NLM locking (rpc.statd, lockd with a 10 s
# grace period) instead of nolock, where fcntl locks are local to each mount.
# Interface: see docs/guest-runner.md ("Writing a target").

nfs_export=
target_setup() {
  local root=$DMMAP_TARGET_ROOT i dirs=() opts src
  nfs_export=$root/nfs-export
  case "$DMMAP_NFS_VERS" in 3|4.2) ;; *) echo "nfs: unsupported NFS version $DMMAP_NFS_VERS" >&2; return 1 ;; esac

  if [ "$DMMAP_NFS_VERS" = 3 ] && [ "${DMMAP_NFS_LOCK:-0}" = 1 ]; then
    # Before nfsd pulls lockd in: NLM's default grace period is 50 s.
    modprobe lockd nlm_grace_period=10
  fi
  modprobe nfsd
  modprobe nfsv3
  modprobe nfsv4
  mountpoint -q /proc/fs/nfsd || mount -t nfsd nfsd /proc/fs/nfsd
  # Shorter lease and grace periods (10 s is the kernel's minimum): an NFSv4
  # client's first open waits for the grace period to end.
  echo 10 >/proc/fs/nfsd/nfsv4leasetime
  echo 10 >/proc/fs/nfsd/nfsv4gracetime
  if [ "$DMMAP_NFS_VERS" = 4.2 ]; then
    sysctl -q -w fs.leases-enable=0 # no leases => the server grants no delegations
  fi

  mkdir -p "$nfs_export"
  mount -t tmpfs -o mode=1777 dmmap-nfs-export "$nfs_export"
  # The guest's /etc and /var are the host's, in the overlay: writes stay in guest RAM.
  mkdir -p /var/lib/nfs/rpc_pipefs /var/lib/nfs/v4recovery /run/rpcbind
  mountpoint -q /var/lib/nfs/rpc_pipefs || mount -t rpc_pipefs sunrpc /var/lib/nfs/rpc_pipefs
  printf '%s 127.0.0.1(rw,sync,no_root_squash,no_subtree_check,insecure,fsid=0)\n' "$nfs_export" >/etc/exports
  rpcbind -w
  if [ "$DMMAP_NFS_VERS" = 3 ] && [ "${DMMAP_NFS_LOCK:-0}" = 1 ]; then
    mkdir -p /var/lib/nfs/sm /var/lib/nfs/sm.bak
    rpc.statd --no-notify
  fi
  exportfs -ra
  rpc.mountd --port 20048
  rpc.nfsd --port 2049 8
  exportfs -v

  if [ "$DMMAP_NFS_VERS" = 3 ]; then
    opts=vers=3,nolock,nosharecache
    [ "${DMMAP_NFS_LOCK:-0}" = 1 ] && opts=vers=3,nosharecache
    src=127.0.0.1:$nfs_export
  else
    opts=vers=4.2,nosharecache
    src=127.0.0.1:/ # fsid=0: the export is the NFSv4 pseudo-root
  fi
  [ -n "${DMMAP_NFS_OPTS:-}" ] && opts+=",$DMMAP_NFS_OPTS"
  for ((i = 0; i < DMMAP_CLIENTS; i++)); do
    mkdir -p "$root/client$i"
    mount -t nfs -o "$opts" "$src" "$root/client$i"
    dirs+=("$root/client$i")
  done
  grep " nfs" /proc/mounts
  # N mounts must be N superblocks (N page caches), or the target is one client.
  if [ "$DMMAP_CLIENTS" -gt 1 ]; then
    local devs
    devs=$(for d in "${dirs[@]}"; do stat -c %d "$d"; done | sort -u | wc -l)
    if [ "$devs" -ne "$DMMAP_CLIENTS" ]; then
      echo "nfs: the $DMMAP_CLIENTS client mounts share a superblock (st_dev)" >&2
      return 1
    fi
  fi
  DMMAP_DIRS=$(IFS=,; echo "${dirs[*]}")
  export DMMAP_DIRS
}

target_teardown() {
  local root=$DMMAP_TARGET_ROOT i
  for ((i = 0; i < DMMAP_CLIENTS; i++)); do
    umount "$root/client$i"
  done
  exportfs -ua
  rpc.nfsd 0
  umount "$nfs_export"
}
