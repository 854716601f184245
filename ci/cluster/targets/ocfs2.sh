# shellcheck shell=bash
# Cluster target "ocfs2": one raw disk attached to every node (qemu
# share-rw=on, ci/cluster/targets/ocfs2.host), the o2cb cluster stack of
# Debian's ocfs2-tools started by its own init script (/etc/init.d/o2cb) on
# every node, mkfs.ocfs2 by node0, every node mounting the disk at DMMAP_DIR:
# N nodes, N kernels, N page caches kept coherent by OCFS2's DLM over o2net
# (TCP port 7777 on the guest network); disk heartbeat on the shared disk.
#
# o2net idle timeout: DMMAP_O2CB_IDLE_TIMEOUT_MS (default 60000; OCFS2's own
# default is 30000). When a node stops answering, OCFS2 fences it after this
# timeout (the node reboots itself); a fenced node takes its ranks with it.
# The suite's shared.unresponsive-client waits --timeout/2 (30 s by
# default) with the node frozen, then thaws it: 60 s keeps the frozen node
# alive through that window, so the check reports what a write does while a
# node is silent instead of the run dying (docs/cluster-run.md).
#
# Hook: ci/cluster/nft-hook freezes a node's o2net traffic (port 7777, not
# its MPI or ssh traffic); OCFS2 has no operator eviction of one node
# (evict: exit 3). Interface: docs/cluster-run.md ("Writing a cluster target").

ocfs2_disk=/dev/vda

ocfs2_stack() {
  local i
  modprobe virtio_blk
  for i in $(seq 50); do [ -b "$ocfs2_disk" ] && break; sleep 0.1; done
  [ -b "$ocfs2_disk" ] || { echo "ocfs2: no shared disk $ocfs2_disk" >&2; return 1; }
  mkdir -p /etc/ocfs2
  {
    printf 'cluster:\n\tnode_count = %s\n\tname = dmmap\n\n' "$DMMAP_NODES"
    for ((i = 0; i < DMMAP_NODES; i++)); do
      printf 'node:\n\tip_port = 7777\n\tip_address = %s.%s\n\tnumber = %s\n\tname = node%s\n\tcluster = dmmap\n\n' \
        "${DMMAP_SERVER_ADDR%.*}" "$((i + 1))" "$i" "$i"
    done
  } >/etc/ocfs2/cluster.conf
  cat >/etc/default/o2cb <<EOF
O2CB_ENABLED=true
O2CB_STACK=o2cb
O2CB_BOOTCLUSTER=dmmap
O2CB_IDLE_TIMEOUT_MS=${DMMAP_O2CB_IDLE_TIMEOUT_MS:-60000}
EOF
  /etc/init.d/o2cb start
  /etc/init.d/o2cb status
}

target_server_setup() {
  ocfs2_stack
  # One slot per node; small journals (the disk is 1 GiB).
  mkfs.ocfs2 -q -F -N "$DMMAP_NODES" -L dmmap -J size=16M --cluster-stack=o2cb --cluster-name=dmmap "$ocfs2_disk"
}

target_node_setup() {
  [ "$DMMAP_NODE" -eq 0 ] || ocfs2_stack
  mount -t ocfs2 "$ocfs2_disk" "$DMMAP_DIR"
  chmod 1777 "$DMMAP_DIR"
  grep " ocfs2 " /proc/mounts
  DMMAP_HOOK=$DMMAP_SOURCE_DIR/ci/cluster/nft-hook
  DMMAP_FREEZE_PORTS=7777
  export DMMAP_HOOK DMMAP_FREEZE_PORTS
}

target_node_teardown() {
  umount "$DMMAP_DIR"
  /etc/init.d/o2cb stop
}
