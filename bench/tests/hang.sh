#!/bin/sh
# A rank that stops for good at a place of dmmap-bench (hang_rank.cpp: a
# run's agreement, or with PLACE the job's start, the rank binding or a run's
# start): the job ends with status 4 (HANG) and names it.
# Usage: hang.sh HANG_RANK_PROGRAM [join|bind|start]
out=$(timeout -k 5 120 mpirun --allow-run-as-root --oversubscribe -np 3 "$@" 2>&1)
status=$?
echo "$out"
[ "$status" -eq 4 ] || { echo "FAIL: exit status $status, expected 4 (HANG)" >&2; exit 1; }
echo "$out" | grep -q "HANG: .*ranks {2} did not arrive" || { echo "FAIL: the hang does not name rank 2" >&2; exit 1; }
echo "PASS: HANG, exit 4, rank 2 named"
