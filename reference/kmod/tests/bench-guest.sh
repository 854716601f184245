#!/bin/bash
# dmmap-bench fault and revocation latency on the target's client views, and
# the guest's loopback TCP round trip (the floor) before and after, for
# docs/kmod.md; on dmfs also OUT/dmfs-stats.txt, the mounts' sysfs stats
# after the run.
# usage (guest, under ci/guest-run --target dmfs|nfs --clients 2):
#   bench-guest.sh BUILD_DIR [dmmap-bench args...]
set -u
: "${DMMAP_DIRS:?}" "${DMMAP_OUT:?}"
build=$1
shift
"$build/reference/bench/dmfs-lock-bench" --benchmark_filter=LoopbackTcpRtt \
  --benchmark_out="$DMMAP_OUT/rtt.json" --benchmark_out_format=json || exit 1
mpirun --allow-run-as-root --oversubscribe -np 2 "$build/bench/dmmap-bench" \
  --dirs "$DMMAP_DIRS" --bind none --timeout 300s \
  --benchmark_out="$DMMAP_OUT/bench.json" "$@"
rc=$?
# again: a round trip that moved shows the host slowed the guest meanwhile
"$build/reference/bench/dmfs-lock-bench" --benchmark_filter=LoopbackTcpRtt \
  --benchmark_out="$DMMAP_OUT/rtt-after.json" --benchmark_out_format=json >/dev/null || rc=1
# where dmfs's callbacks spent their time over the run (docs/kmod.md, sysfs)
for f in /sys/fs/dmfs/*/stats; do
  [ -r "$f" ] && { echo "== $f"; cat "$f"; }
done >"$DMMAP_OUT/dmfs-stats.txt"
exit $rc
