#!/usr/bin/env bash
# Each check of issue 15's families shown both ways on something real: it
# passes (at strict) where it should — a local filesystem, with 2 to 4 ranks
# and several ranks per view — and fails where it should, on a named peer.
# Usage: catalog-proofs.sh CASE BUILD_DIR
#   CASE: a check ID (race.monotonic, race.fault-vs-truncate, ...)
set -euo pipefail
id=$1
build=$2
conform=$build/conformance/dmmap-conform
dialfs=$build/conformance/tests/dialfs/dmmap-dialfs
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_mpi_yield_when_idle=${OMPI_MCA_mpi_yield_when_idle:-1}
unset DMMAP_HOOK
work=$(mktemp -d /tmp/dmmap-proof-XXXXXX)
mounts=()
daemon=
cleanup() {
  if [ -n "$daemon" ]; then kill "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; fi
  for m in "${mounts[@]}"; do fusermount -u "$m" 2>/dev/null || umount "$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $id: $*" >&2; exit 1; }
filter=$(echo "$id" | tr - _)

# run NP DIRS [ARGS...]: the one check, its report in $work/report.
run() {
  local np=$1 dirs=$2 status=0
  shift 2
  rm -rf "$work/report"
  timeout -k 5 200 mpirun --oversubscribe -np "$np" "$conform" --dirs "$dirs" --gtest_filter="$filter" \
    --report "$work/report" "$@" >"$work/out" 2>&1 || status=$?
  cat "$work/out"
  [ "$status" -le 1 ] || fail "np $np on $dirs: exit $status (not a verdict)"
  [ "$(jq '.checks | length' "$work/report/conformance.json")" -eq 1 ] || fail "the check did not run"
}
verdict() { jq -r '.checks[0].verdict' "$work/report/conformance.json"; }
level() { jq -r '.checks[0].level // "-"' "$work/report/conformance.json"; }
message() { jq -r '.checks[0] | (.message // "") + " " + ((.details // []) | join(" "))' "$work/report/conformance.json"; }
measures_level() { "$conform" --list | awk -v id="$id" '$1 == id {print ($2 == "level")}'; }

# Passes at strict on one page cache: 2-4 ranks, each its own view, and
# several ranks sharing a view (one "client" with several ranks).
passes_locally() {
  mkdir -p "$work/local"
  for np in 2 3 4; do
    run "$np" "$work/local"
    [ "$(verdict)" = PASS ] || fail "np $np locally: $(verdict): $(message)"
    [ "$(measures_level)" = 0 ] || [ "$(level)" = strict ] || fail "np $np locally: level $(level)"
  done
  run 4 "$work/local,$work/local"
  [ "$(verdict)" = PASS ] || fail "np 4 on 2 views locally: $(verdict): $(message)"
}

mount_bindfs_pair() {
  mkdir -p "$work/src" "$work/a" "$work/b"
  bindfs "$work/src" "$work/a" && mounts+=("$work/a")
  bindfs "$work/src" "$work/b" && mounts+=("$work/b")
}

# dialfs with two clients and the given dials; waits for its banner.
start_dialfs() {
  mkdir -p "$work/store" "$work/da" "$work/db"
  "$dialfs" --store "$work/store" --mount "$work/da" --mount "$work/db" "$@" >"$work/dialfs.log" 2>&1 &
  daemon=$!
  for _ in $(seq 100); do grep -q "serving" "$work/dialfs.log" && break; sleep 0.1; done
  grep -q "serving" "$work/dialfs.log" || fail "dialfs did not start: $(cat "$work/dialfs.log")"
  mounts+=("$work/da" "$work/db")
}
stop_dialfs() {
  kill "$daemon"; wait "$daemon" || true
  daemon=
  local keep=() m
  for m in "${mounts[@]}"; do [ "$m" = "$work/da" ] || [ "$m" = "$work/db" ] || keep+=("$m"); done
  mounts=("${keep[@]}")
}

# fails_on NAME DIRS PATTERN: FAIL (not HANG) with 2 and 4 ranks, the message matching PATTERN.
fails_on() {
  local name=$1 dirs=$2 pattern=$3
  for np in 2 4; do
    run "$np" "$dirs"
    [ "$(verdict)" = FAIL ] || fail "np $np on $name: $(verdict), not FAIL: $(message)"
    message | grep -Eq -- "$pattern" || fail "np $np on $name: message lacks /$pattern/: $(message)"
  done
}

case "$id" in
  race.monotonic)
    passes_locally
    mount_bindfs_pair
    # Two page caches never told of each other: the reader never gets the last value.
    fails_on bindfs "$work/a,$work/b" "below the expected strict"
    ;;
  race.mkwrite-storm)
    passes_locally
    # Page-granular write-back with no invalidation: the last whole page
    # written back carries the other client's bytes as it cached them.
    mount_bindfs_pair
    fails_on bindfs "$work/a,$work/b" "a byte was lost"
    start_dialfs
    fails_on "dialfs (default dials)" "$work/da,$work/db" "a byte was lost"
    stop_dialfs
    # Byte-granular write-back with invalidation: nothing lost, seen at strict.
    start_dialfs --publish sync --notify on --merge bytes
    run 2 "$work/da,$work/db"
    [ "$(verdict)" = PASS ] && [ "$(level)" = strict ] || fail "dialfs sync-notify-bytes: $(verdict) $(level): $(message)"
    # A PASS says how much storm it survived: rounds completed, not an index.
    message | grep -Eq "rounds completed per rank: [1-9][0-9]*, [1-9]" || fail "no count of rounds: $(message)"
    ;;
  shared.no-space)
    # The single-node hook fills only a small filesystem: a 32 MiB tmpfs,
    # which refuses the store beyond it with SIGBUS.
    export DMMAP_HOOK=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/single-node-hook
    mkdir -p "$work/small"
    mount -t tmpfs -o size=32m tmpfs "$work/small" && mounts+=("$work/small")
    for np in 2 3 4; do
      run "$np" "$work/small"
      [ "$(verdict)" = PASS ] || fail "np $np on a small tmpfs: $(verdict): $(message)"
      message | grep -q "reported: store into page [0-9]*: SIGBUS" || fail "np $np: no SIGBUS reported: $(message)"
    done
    run 4 "$work/small,$work/small"
    [ "$(verdict)" = PASS ] || fail "np 4 on 2 views of a small tmpfs: $(verdict): $(message)"
    [ -z "$(ls -A "$work/small")" ] || fail "the fill was not undone: $(ls -A "$work/small")"
    # The machine's disk is not filled: SKIP with the hook's words.
    mkdir -p "$work/local"
    run 2 "$work/local"
    [ "$(verdict)" = SKIP ] && message | grep -q "will not fill" || fail "on the disk: $(verdict): $(message)"
    ;;
  race.fault-vs-truncate)
    passes_locally
    mount_bindfs_pair
    fails_on bindfs "$work/a,$work/b" "after a shrink-and-extend|before the first shrink-and-extend"
    ;;
  shared.extend-by-write)
    passes_locally
    mount_bindfs_pair
    # The other mount keeps the size it cached: its loads past the old EOF are SIGBUS.
    fails_on bindfs "$work/a,$work/b" "gave SIGBUS"
    ;;
  shared.punch-hole)
    passes_locally
    # bindfs refuses both modes; dialfs forwards fallocate to its store at once.
    start_dialfs --notify off
    fails_on "dialfs --notify off" "$work/da,$work/db" "expected 0x00"
    stop_dialfs
    start_dialfs --notify on
    run 2 "$work/da,$work/db"
    [ "$(verdict)" = PASS ] || fail "dialfs --notify on: $(verdict): $(message)"
    ;;
  shared.large-file | shared.multi-process)
    passes_locally
    mount_bindfs_pair
    # The other mount's cached pages stay stale, whatever view maps them.
    fails_on bindfs "$work/a,$work/b" "below the expected strict"
    ;;
  shared.hugepage)
    # A tmpfs mounted huge=always gives the file huge pages: a real PASS; a
    # filesystem without file THP is INFO (it tested base pages only).
    mkdir -p "$work/huge"
    mount -t tmpfs -o size=64m,huge=always tmpfs "$work/huge" && mounts+=("$work/huge")
    for np in 2 3 4; do
      run "$np" "$work/huge"
      [ "$(verdict)" = PASS ] && [ "$(level)" = strict ] || fail "np $np on tmpfs huge=always: $(verdict) $(level): $(message)"
      message | grep -q "mapped by huge pages" || fail "np $np on tmpfs huge=always: no huge page: $(message)"
    done
    run 4 "$work/huge,$work/huge"
    [ "$(verdict)" = PASS ] || fail "np 4 on 2 views of tmpfs huge=always: $(verdict): $(message)"
    mkdir -p "$work/nohuge"
    mount -t tmpfs -o size=64m,huge=never tmpfs "$work/nohuge" && mounts+=("$work/nohuge")
    run 2 "$work/nohuge"
    [ "$(verdict)" = INFO ] || fail "tmpfs huge=never: $(verdict), not INFO: $(message)"
    message | grep -q "file THP unavailable" || fail "tmpfs huge=never: INFO without its reason: $(message)"
    mount_bindfs_pair
    fails_on bindfs "$work/a,$work/b" "below the expected strict"
    ;;
  io.mapped-buffer | io.direct-vs-mapped | io.copy-vs-dirty)
    passes_locally
    mount_bindfs_pair
    # The other mount reads or copies from its own stale cache.
    fails_on bindfs "$work/a,$work/b" "below the expected strict"
    ;;
  *) echo "unknown case $id" >&2; exit 2 ;;
esac
echo "PASS: $id"
