#!/bin/sh
# Integration test: dmmap-bench under mpirun on a fresh directory, then the
# output checker. Usage: run_bench.sh BENCH CHECKER NP [extra dmmap-bench args]
set -eu
bench=$1 checker=$2 np=$3
shift 3
work=$(mktemp -d "${TMPDIR:-/tmp}/dmmap-bench-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/target"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun --oversubscribe -np "$np" "$bench" --dir "$work/target" --pages 32 --sizes 128K --dirty 1,64 \
  --benchmark_min_time=0.002 --benchmark_out="$work/out.json" --html "$work/out.html" "$@" >"$work/console.txt"
"$checker" "$work/out.json" "$np" "$work/out.html"
# The scratch directory is gone: nothing left behind.
leftover=$(ls -A "$work/target")
[ -z "$leftover" ] || { echo "left behind in the target: $leftover" >&2; exit 1; }
