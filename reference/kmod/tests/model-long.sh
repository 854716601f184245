#!/bin/bash
# Long randomised model check on dmfs (issue 7: >= 100,000 operations across
# two clients): model.random-ops in chunks of OPS operations with successive
# seeds, so a time limit still leaves complete, replayable chunks behind.
# usage (guest, under ci/guest-run --target dmfs --clients N):
#   model-long.sh DMMAP_CONFORM NP TOTAL_OPS [OPS_PER_RUN] [FIRST_SEED]
# Writes $DMMAP_OUT/model-<seed>/conformance.json per chunk and a summary line
# per chunk; exit 0 only if every chunk passed.
# A chunk's time limit grows with its size (about 0.15 s an operation in a TCG
# guest on a busy host); the wait at a sync point stays 300 s, so a hang is
# still named quickly.
set -u
: "${DMMAP_DIRS:?}" "${DMMAP_OUT:?}"
conform=$1 np=$2 total=$3 per=${4:-25000} seed=${5:-1000}
done_ops=0 fail=0
limit=$((600 + per / 4))
while [ "$done_ops" -lt "$total" ]; do
  out=$DMMAP_OUT/model-$seed
  mkdir -p "$out"
  t0=$(date +%s)
  mpirun --allow-run-as-root --oversubscribe -np "$np" "$conform" \
    --dirs "$DMMAP_DIRS" --report "$out" --gtest_filter='model.*' \
    --ops "$per" --seed "$seed" --timeout 300s \
    --check-time-limit ${limit}s >"$out/console.log" 2>&1
  rc=$?
  echo "model-long: seed $seed, $per ops: exit $rc in $(($(date +%s) - t0)) s"
  [ $rc = 0 ] || { fail=1; tail -5 "$out/console.log"; break; }
  # a filter that matches nothing "passes" with no checks: insist on the row
  grep -qE '^model\.random-ops .* PASS' "$out/console.log" ||
    { echo "model-long: no PASS row for model.random-ops"; fail=1; break; }
  done_ops=$((done_ops + per))
  seed=$((seed + 1))
  echo "model-long: $done_ops operations passed so far"
done
dmesg | grep -E "BUG|WARNING|Oops|INFO: task" && fail=1
exit $fail
