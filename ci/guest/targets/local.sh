# shellcheck shell=bash
# Target "local": one tmpfs bind-mounted N times. One superblock, one page
# cache: every conformance check must pass at "strict" here. One page cache
# has no client to evict or freeze: the target hook's actions are no-ops.
# Interface: see docs/guest-runner.md ("Writing a target").

target_setup() {
  local root=$DMMAP_TARGET_ROOT i dirs=()
  mkdir -p "$root/local-fs"
  mount -t tmpfs -o mode=1777 dmmap-local "$root/local-fs"
  for ((i = 0; i < DMMAP_CLIENTS; i++)); do
    mkdir -p "$root/client$i"
    mount --bind "$root/local-fs" "$root/client$i"
    dirs+=("$root/client$i")
  done
  DMMAP_DIRS=$(IFS=,; echo "${dirs[*]}")
  DMMAP_HOOK=$DMMAP_SOURCE_DIR/conformance/tests/single-node-hook
  export DMMAP_DIRS DMMAP_HOOK
}

target_teardown() {
  local root=$DMMAP_TARGET_ROOT i
  for ((i = 0; i < DMMAP_CLIENTS; i++)); do
    umount "$root/client$i"
  done
  umount "$root/local-fs"
}
