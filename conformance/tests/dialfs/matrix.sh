#!/usr/bin/env bash
# Runs the conformance catalog on dmmap-dialfs with one setting of matrix.txt
# (2 ranks, 2 mounts of one daemon) and asserts every check's verdict and
# level against that setting's column.
# Usage: matrix.sh SETTING BUILD_DIR MATRIX_FILE
set -euo pipefail
setting=$1 build=$2 matrix=$3
dialfs=$build/conformance/tests/dialfs/dmmap-dialfs
conform=$build/conformance/dmmap-conform
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Spinning ranks starve each other on an oversubscribed machine (see integration.sh).
export OMPI_MCA_mpi_yield_when_idle=${OMPI_MCA_mpi_yield_when_idle:-1}
unset DMMAP_HOOK  # dialfs has no client to evict or freeze: the hook checks SKIP
fail() { echo "FAIL: $*" >&2; exit 1; }

line=$(awk -v s="$setting" '$1 == "setting" && $2 == s' "$matrix")
[ -n "$line" ] || fail "no setting '$setting' in $matrix"
read -r _ _ expect dials <<<"$line"
column=$(awk -v s="$setting" '$1 == "setting" { n++; if ($2 == s) print n }' "$matrix")
# "ID VERDICT[:LEVEL][|VERDICT[:LEVEL]...]" per check, levels spelled as the
# report does; a cell with alternatives accepts any of them (a race whose
# outcome the dials leave to timing: matrix.txt says why for each).
expected=$(awk -v c="$column" '!/^#/ && NF && $1 != "setting" { print $1, $(c + 1) }' "$matrix" |
  sed 's/:c2o\b/:close-to-open/g' | sort)

work=$(mktemp -d /tmp/dialfs-matrix-XXXXXX)
daemon=
cleanup() {
  if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then
    kill "$daemon"
    timeout 20 tail --pid="$daemon" -f /dev/null || kill -9 "$daemon" || true
  fi
  for m in "$work/a" "$work/b"; do ! mountpoint -q "$m" || umount -l "$m" || true; done
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/store" "$work/a" "$work/b"
# shellcheck disable=SC2086 # the dials are words
"$dialfs" --store "$work/store" --mount "$work/a" --mount "$work/b" $dials >"$work/daemon.log" 2>&1 &
daemon=$!
for _ in $(seq 200); do grep -q "^dmmap-dialfs: serving" "$work/daemon.log" && break; sleep 0.1; done
grep -q "^dmmap-dialfs: serving" "$work/daemon.log" || fail "dmmap-dialfs did not start: $(cat "$work/daemon.log")"
cat "$work/daemon.log"

# A fixed seed: model.random-ops replays the same operations every run.
status=0
timeout -k 5 300 mpirun --oversubscribe -np 2 "$conform" --dirs "$work/a,$work/b" --expect "$expect" --seed 1 \
  --report "$work/report" >"$work/out" 2>&1 || status=$?
sed -n '/^CHECK/,$p' "$work/out"
[ -s "$work/report/conformance.json" ] || fail "no report (mpirun exited $status): $(cat "$work/out")"
actual=$(jq -r '.checks[] | "\(.id) \(.verdict)\(if .level then ":" + .level else "" end)"' \
  "$work/report/conformance.json" | sort)
differ=$(join -a1 -a2 -e '(none)' -o 0,1.2,2.2 <(echo "$expected") <(echo "$actual") |
  awk '{ n = split($2, allowed, "|"); ok = 0; for (i = 1; i <= n; i++) ok = ok || allowed[i] == $3; if (!ok) print }')
if [ -n "$differ" ]; then
  echo "setting $setting (--expect $expect, dials: ${dials:-none}): expected | reported" >&2
  echo "$differ" >&2
  fail "the catalog on dmmap-dialfs $setting differs from $matrix"
fi
overall=$(jq -r .verdict "$work/report/conformance.json")
case "$overall:$status" in PASS:0 | FAIL:1) ;; *) fail "verdict $overall with exit status $status" ;; esac
[ -z "$(ls -A "$work/store")" ] || fail "the run left files in the store: $(ls -A "$work/store")"

kill "$daemon"
daemon_status=0
wait "$daemon" || daemon_status=$?
daemon=
[ "$daemon_status" -eq 0 ] || fail "dmmap-dialfs exited $daemon_status on SIGTERM"
for m in "$work/a" "$work/b"; do ! mountpoint -q "$m" || fail "$m still mounted"; done
echo "PASS: dialfs $setting"
