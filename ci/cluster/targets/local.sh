# shellcheck shell=bash
# Cluster target "local": every node mounts its own tmpfs at DMMAP_DIR.
# Nothing is shared between nodes: the control. Ranks on one node share one
# page cache and pass every check; ranks on two nodes see two different
# directories, which dmmap-conform must refuse (exit 2, naming the rank that
# cannot see the marker) rather than report on. Interface: docs/cluster-run.md
# ("Writing a cluster target").

target_node_setup() {
  mount -t tmpfs -o mode=1777 dmmap-local "$DMMAP_DIR"
  # One page cache per node: nothing to evict, every hook action is a no-op.
  DMMAP_HOOK=$DMMAP_SOURCE_DIR/conformance/tests/single-node-hook
  export DMMAP_HOOK
}

target_node_teardown() {
  umount "$DMMAP_DIR"
}
