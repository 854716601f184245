#!/usr/bin/env bash
# dmfs against NFSv3 in the same guest image: one boot per target (two
# client mounts each, mpirun -np 2), the loopback TCP round trip measured
# in the same boot as the floor (bench-guest.sh), then OUT_DIR/ratios.json
# (bench-ratios.py): uncached/cached fault, mkwrite and sequential mapped
# read against NFS, revocation and stat of a remote writer in round trips.
# usage (host): bench-compare.sh BUILD_DIR OUT_DIR [dmmap-bench ARGS...]
#   default ARGS: --ranks 2 --pages 64 --dirty 1,64 --sizes 4M
#                 --fault-around off --benchmark_min_time=0.2 and the filter
#                 of the measurements the ratios use
set -euo pipefail
usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 2 ] || usage
build=$(cd "$1" && pwd)
out=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../.." && pwd)
[ -x "$build/bench/dmmap-bench" ] || { echo "bench-compare: no $build/bench/dmmap-bench" >&2; exit 2; }
args=("$@")
if [ ${#args[@]} -eq 0 ]; then
  args=(--ranks 2 --pages 64 --dirty 1,64 --sizes 4M --fault-around off --benchmark_min_time=0.2
        "--benchmark_filter=^(read_fault/(cached|uncached)|write_fault/mkwrite|revocation|stat/remote_writer|throughput/readback/file_per_rank)/")
fi
mkdir -p "$out"
for target in dmfs nfs; do
  echo "bench-compare: $target ($(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1 /proc/loadavg))"
  "$src/ci/guest-run" --target "$target" --clients 2 --timeout 1500 --out "$out/$target" -- \
    "$here/bench-guest.sh" "$build" "${args[@]}" >"$out/$target.log" 2>&1 ||
    { echo "bench-compare: the $target boot failed (status $?): $out/$target.log" >&2; exit 1; }
done
/usr/bin/python3 "$here/bench-ratios.py" "$out"
