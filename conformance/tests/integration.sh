#!/usr/bin/env bash
# End-to-end runs of dmmap-conform under mpirun, asserting what the suite reports.
# Usage: integration.sh CASE BUILD_DIR
#   CASE: local-np2 local-np3 local-np4 tmpfs ext4-loop ext4-coarse-times bindfs bindfs-hard-remove noexec runner locks-off known-failures quick model-replay bad-inputs hook selftest selftest-aggregation clients-one clients-bindfs no-fork scale docs
set -euo pipefail
case_name=$1
build=$2
conform=$build/conformance/dmmap-conform
selftest=$build/conformance/tests/dmmap-conform-selftest
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Ranks that spin in MPI waits starve each other (and the exec checks' runner)
# on a 2-core machine shared with other jobs: a full local run went from 3 s to 30 s.
export OMPI_MCA_mpi_yield_when_idle=${OMPI_MCA_mpi_yield_when_idle:-1}
# One page cache has no client to evict or freeze: the checks that need a
# target hook run with one whose actions are no-ops (bindfs runs without it).
single_node_hook=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/single-node-hook
export DMMAP_HOOK=$single_node_hook
work=$(mktemp -d /tmp/dmmap-it-XXXXXX)
mounts=()
daemon_pid=
cleanup() {
  if [ -n "$daemon_pid" ]; then kill "$daemon_pid" 2>/dev/null; wait "$daemon_pid" 2>/dev/null; fi
  for m in "${mounts[@]}"; do fusermount -u "$m" 2>/dev/null || umount "$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
# run NP ARGS... : runs the suite, keeps stdout+stderr in $work/out and the status in $status
run() {
  local np=$1; shift
  set +e
  timeout -k 5 "${run_timeout:-300}" mpirun --oversubscribe -np "$np" "$@" >"$work/out" 2>&1
  status=$?
  set -e
  cat "$work/out"
}
# The checks two bindfs mounts of one directory must fail: two page caches
# that are never told about each other (stale pages, stale sizes, no shared
# locks, no ETXTBSY across mounts). Every other check must pass there; the
# ones bindfs cannot break are listed in docs/conformance.md.
BINDFS_FAILS="exec.changed-binary exec.deny-write io.copy-vs-dirty io.direct-vs-mapped io.mapped-buffer model.random-ops race.fault-vs-truncate race.mkwrite-storm race.monotonic shared.extend-by-write shared.false-sharing shared.flock-update shared.hugepage shared.large-file shared.locked-update shared.metadata shared.mixed-syscalls shared.multi-process shared.ping-pong shared.store-visible shared.truncate"
non_passing() { jq -r '[.checks[] | select(.verdict != "PASS") | .id] | sort | join(" ")' "$work/report/conformance.json"; }
# shared.no-space where the single-node hook would not fill a big filesystem: SKIP saying so (else it must PASS).
not_filled() {
  jq -e '.checks[] | select(.id == "shared.no-space" and .verdict == "SKIP") | .message | test("will not fill")' \
    "$work/report/conformance.json" >/dev/null && echo shared.no-space
}
# shared.hugepage where the kernel gave the file no huge page: INFO saying so (else it must PASS).
no_file_thp() {
  jq -e '.checks[] | select(.id == "shared.hugepage" and .verdict == "INFO") | .message | test("file THP unavailable")' \
    "$work/report/conformance.json" >/dev/null && echo shared.hugepage
}
# exec.changed-after-eviction with the single-node hook: nothing is evicted,
# the writer gets ETXTBSY and the binary never changes, so the recovery is
# not exercised: a SKIP saying so (never a PASS).
EVICTION_SHOWS_NOTHING="exec.changed-after-eviction"
expect_eviction_not_exercised() {
  [ "$(verdict_of exec.changed-after-eviction)" = SKIP ] ||
    fail "exec.changed-after-eviction is $(verdict_of exec.changed-after-eviction) without an eviction, not SKIP"
  jq -r '.checks[] | select(.id == "exec.changed-after-eviction") | .message' "$work/report/conformance.json" |
    grep -q "writer got Text file busy after the eviction.*never changed" ||
    fail "exec.changed-after-eviction: the SKIP does not say the binary never changed"
}
verdict_of() { jq -r --arg id "$1" '.checks[] | select(.id == $id) | .verdict' "$work/report/conformance.json"; }
level_of() { jq -r --arg id "$1" '.checks[] | select(.id == $id) | .level // "-"' "$work/report/conformance.json"; }
expect_status() { [ "$status" -eq "$1" ] || fail "exit status $status, expected $1"; }
expect_output() { grep -q -- "$1" "$work/out" || fail "output lacks: $1"; }
expect_empty_dir() { [ -z "$(ls -A "$1")" ] || fail "$1 not left empty: $(ls -A "$1")"; }

# every_check_passes_strict NP [DIR [SKIPS]]: SKIPS, checks that must be a
# SKIP there (sorted, space-separated), each with its reason.
every_check_passes_strict() {
  local np=$1 dir=${2:-$work/target} skips=${3:-}
  mkdir -p "$dir"
  run "$np" "$conform" --dir "$dir" --report "$work/report"
  expect_status 0
  [ "$(jq -r .verdict "$work/report/conformance.json")" = PASS ] || fail "verdict not PASS"
  # private.uncopied-view is informational by design; everything else must PASS.
  local expected
  expected=$(echo "$skips $EVICTION_SHOWS_NOTHING private.uncopied-view $(no_file_thp) $(not_filled)" | tr ' ' '\n' | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//')
  [ "$(non_passing)" = "$expected" ] || fail "checks not passing on a local filesystem: [$(non_passing)], expected [$expected]"
  for id in $skips; do [ "$(verdict_of "$id")" = SKIP ] || fail "$id is $(verdict_of "$id"), not SKIP"; done
  expect_eviction_not_exercised
  [ "$(verdict_of private.uncopied-view)" = INFO ] || fail "private.uncopied-view is not INFO"
  for id in $("$conform" --list | awk '$2 == "level" {print $1}'); do
    [ "$(level_of "$id")" = strict ] || fail "local filesystem below strict in $id"
  done
  grep -q "writer got Text file busy" "$work/report/conformance.json" || fail "exec.changed-binary: no ETXTBSY locally"
  # What one node's kernel does, shown beside the cross-client result (the control runner).
  grep -q "control: a writer on the runner's own client gets Text file busy" "$work/report/conformance.json" ||
    fail "exec checks: no same-client control of ETXTBSY in the report"
  [ "$(jq '.checks | length' "$work/report/conformance.json")" -eq "$("$conform" --list | wc -l)" ] || fail "not every check ran"
  [ "$(jq '.environment.ranks | length' "$work/report/conformance.json")" -eq "$np" ] || fail "environment lacks ranks"
  grep -q '<testsuites' "$work/report/junit.xml" || fail "no junit.xml"
  grep -q '^| `model.random-ops` | PASS' "$work/report/summary.md" || fail "summary.md lacks the table"
  expect_empty_dir "$dir"
}

# tmpfs never drops a page it holds: the runner's eviction cannot take, so
# exec.replace-by-rename cannot show a fault on the renamed-over inode, and
# shared.unlink-while-mapped no load after the unlink that reaches the filesystem.
on_tmpfs() {
  mkdir -p "$work/tmpfs"
  mount -t tmpfs -o size=64m tmpfs "$work/tmpfs" && mounts+=("$work/tmpfs")
  local skips="exec.replace-by-rename shared.unlink-while-mapped"
  every_check_passes_strict 2 "$work/tmpfs" "$skips"
  every_check_passes_strict 3 "$work/tmpfs" "$skips"
  jq -r '.checks[] | select(.id == "exec.replace-by-rename") | .message' "$work/report/conformance.json" |
    grep -q "59 of 59 pages still resident after eviction" || fail "replace-by-rename: no eviction measured on tmpfs"
}

on_ext4_loop() {
  truncate -s 64M "$work/ext4.img"
  mkfs.ext4 -q -F "$work/ext4.img"
  mkdir -p "$work/ext4"
  if ! mount -o loop "$work/ext4.img" "$work/ext4"; then
    echo "note: no loop device here; ext4-loop case not run"
    return 0
  fi
  mounts+=("$work/ext4")
  # A subdirectory: the fresh filesystem's lost+found would defeat the "left empty" check.
  every_check_passes_strict 2 "$work/ext4/target"
  every_check_passes_strict 3 "$work/ext4/target"
  # ext4 drops clean pages: the renamed-over runner's later pages came from its old
  # inode, and the loads after an unlink were faults, not cache hits.
  grep -q "pages 1-7 were not resident before the unlink on ranks {0,1}" "$work/report/conformance.json" ||
    fail "unlink-while-mapped: later pages not shown absent before the unlink"
  grep -q "the runner finished on its old inode: 0 of 59 pages still resident after eviction" \
    "$work/report/conformance.json" || fail "replace-by-rename: the running inode's pages were not evicted"
}

# ext4 with 128-byte inodes keeps whole seconds. shared.metadata must measure
# that before relying on it: with a wait of its own choosing (50 ms) it read
# FAIL, level none, in 3 runs of 3 here. Each run must now pass at strict,
# having measured 1 s; and a profile given as a file is the one reported.
on_ext4_with_coarse_times() {
  truncate -s 64M "$work/ext4.img"
  mkfs.ext4 -q -F -I 128 "$work/ext4.img" 2>/dev/null
  mkdir -p "$work/ext4"
  if ! mount -o loop "$work/ext4.img" "$work/ext4"; then
    echo "note: no loop device here; ext4-coarse-times case not run"
    return 0
  fi
  mounts+=("$work/ext4")
  mkdir -p "$work/ext4/target"
  printf 'describes my ext4\neviction-timeout none  one machine\ntimestamp-granularity 1s  128-byte inodes\n' >"$work/my.profile"
  for attempt in 1 2 3; do
    run 2 "$conform" --dir "$work/ext4/target" --gtest_filter=shared.metadata --profile "$work/my.profile" \
      --report "$work/report"
    expect_status 0
    [ "$(verdict_of shared.metadata):$(level_of shared.metadata)" = PASS:strict ] ||
      fail "run $attempt: shared.metadata $(verdict_of shared.metadata):$(level_of shared.metadata) on 1-second timestamps"
    [ "$(jq -r .profile.measured.timestamp_granularity_ns "$work/report/conformance.json")" = 1000000000 ] ||
      fail "run $attempt: measured $(jq -c .profile.measured "$work/report/conformance.json"), not 1 s"
    [ "$(jq -r .profile.name "$work/report/conformance.json")" = "$work/my.profile" ] || fail "the profile used is not reported"
  done
  expect_output "timestamp granularity 1 s"
  expect_empty_dir "$work/ext4/target"
}

mount_bindfs_pair() {
  mkdir -p "$work/src" "$work/a" "$work/b"
  bindfs "$work/src" "$work/a" && mounts+=("$work/a")
  bindfs "$work/src" "$work/b" && mounts+=("$work/b")
}

# Without a hook: bindfs has no client to evict, and no-op actions would
# only time how soon a stale page is written back. bindfs refuses fallocate's
# PUNCH_HOLE and ZERO_RANGE.
BINDFS_SKIPS="exec.changed-after-eviction shared.no-space shared.punch-hole shared.unresponsive-client"
bindfs_is_incoherent() {
  mount_bindfs_pair
  unset DMMAP_HOOK
  for np in 2 3 4; do
    run "$np" "$conform" --dirs "$work/a,$work/b" --report "$work/report"
    expect_status 1
    expect_output "VERDICT: FAIL"
    local expected
    expected=$(echo "$BINDFS_FAILS $BINDFS_SKIPS private.uncopied-view" | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')
    [ "$(non_passing)" = "$expected" ] || fail "np $np: bindfs did not fail exactly [$expected] but [$(non_passing)]"
    for id in $BINDFS_FAILS; do [ "$(verdict_of "$id")" = FAIL ] || fail "np $np: $id is $(verdict_of "$id"), not FAIL"; done
    [ "$(verdict_of private.uncopied-view)" = INFO ] || fail "np $np: private.uncopied-view not INFO"
  done
  local level
  level=$(level_of shared.store-visible)
  case "$level" in msync|close-to-open|none) ;; *) fail "bindfs level '$level' is not below strict" ;; esac
  grep -q "runner executed new code" "$work/report/conformance.json" || fail "exec.changed-binary: no mix reported"
  # At close-to-open, bindfs's own level, what still fails is what no reopen repairs:
  # lost neighbour bytes, attributes, locks, truncation, a changed binary.
  run 2 "$conform" --dirs "$work/a,$work/b" --expect close-to-open --report "$work/report"
  expect_status 1
  local c2o
  c2o=$(echo "exec.changed-after-eviction exec.changed-binary model.random-ops private.uncopied-view race.fault-vs-truncate race.mkwrite-storm shared.extend-by-write shared.false-sharing shared.flock-update $(no_file_thp) shared.locked-update shared.metadata shared.no-space shared.punch-hole shared.truncate shared.unresponsive-client" | tr -s ' ')
  [ "$(non_passing)" = "$c2o" ] || fail "at close-to-open bindfs did not fail exactly [$c2o] but [$(non_passing)]"
  [ "$(verdict_of model.random-ops)" = SKIP ] || fail "model.random-ops not SKIP at close-to-open"
  [ "$(verdict_of shared.ping-pong)" = PASS ] || fail "ping-pong with a reopen per turn failed on bindfs"
  # The same check accepts the level it reaches.
  run 3 "$conform" --dirs "$work/a,$work/b" --expect "$level" --gtest_filter='shared.store_visible' --report "$work/report"
  expect_status 0
  expect_empty_dir "$work/src"
}

# One bindfs mount with hard_remove: a single page cache (coherent), but the
# server deletes a file at unlink or rename-over even while it is open, as a
# filesystem without NFS's "silly rename" does. The old binary's and the
# unlinked file's pages can no longer be fetched.
hard_remove_breaks_open_unlinked_files() {
  mkdir -p "$work/src" "$work/a"
  bindfs -o hard_remove "$work/src" "$work/a" && mounts+=("$work/a")
  local expected
  for np in 2 3; do
    # One bindfs mount of a local directory is one machine: declared, since no
    # profile names fuse.bindfs (auto would leave the eviction timeout unknown).
    run "$np" "$conform" --dir "$work/a" --report "$work/report" --profile local
    expect_status 1
    # The single-node hook will not fill the machine's disk under bindfs: shared.no-space SKIPs.
    expected=$(echo "$EVICTION_SHOWS_NOTHING exec.replace-by-rename private.uncopied-view $(no_file_thp) shared.metadata $(not_filled) shared.punch-hole shared.unlink-while-mapped" | tr -s ' ')
    [ "$(non_passing)" = "$expected" ] || fail "np $np: hard_remove did not fail exactly [$expected] but [$(non_passing)]"
    expect_eviction_not_exercised
    [ "$(level_of shared.store-visible)" = strict ] || fail "one FUSE mount is not strict"
    [ "$(level_of shared.metadata)" = msync ] || fail "FUSE mtime of a mapped store not at msync level"
  done
  grep -q "killed by SIGBUS" "$work/report/conformance.json" || fail "replace-by-rename: runner not killed by SIGBUS"
  # With readahead off, the pages never faulted in before the unlink are fetched after it, and fail.
  jq -r '.checks[] | select(.id == "shared.unlink-while-mapped") | .message' "$work/report/conformance.json" |
    grep -q "load from page 1 after the unlink: SIGBUS" || fail "unlink-while-mapped: the later pages were not faulted in after the unlink"
}

# A filesystem mounted noexec (common for HPC scratch): an environment
# limit, not a fault of the filesystem: every exec check is a SKIP saying
# so, at once, and nothing else is affected.
noexec_skips_exec() {
  mkdir -p "$work/noexec"
  mount -t tmpfs -o noexec,size=64m tmpfs "$work/noexec" && mounts+=("$work/noexec")
  run 2 "$conform" --dir "$work/noexec" --report "$work/report"
  expect_status 0
  # shared.unlink-while-mapped: a SKIP of any tmpfs (it keeps every page), noexec or not.
  local expected
  expected=$(echo "exec.changed-after-eviction exec.changed-binary exec.deny-write exec.replace-by-rename exec.run private.uncopied-view shared.unlink-while-mapped $(no_file_thp) $(not_filled)" | tr ' ' '\n' | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//')
  [ "$(non_passing)" = "$expected" ] || fail "noexec did not SKIP exactly [$expected] but [$(non_passing)]"
  for id in exec.changed-binary exec.deny-write exec.replace-by-rename exec.run; do
    [ "$(verdict_of "$id")" = SKIP ] || fail "$id is $(verdict_of "$id") on a noexec mount, not SKIP"
  done
  expect_output "the target is mounted noexec on ranks {0,1}: programs stored on it cannot run"
  [ "$(jq '[.checks[] | select(.id | startswith("exec.")) | .duration_s] | max < 5' "$work/report/conformance.json")" = true ] ||
    fail "an exec check waited for a runner that could not start"
}

# The exec checks' runner (conformance/helpers/runner.c), alone: each page
# function on its own page at any Linux page size (64 KiB blocks), and, in
# `wait` mode, the pages of the inode it runs evicted — also once a rename
# put another file at its path — and confirmed gone with mincore().
runner_evicts_what_it_runs() {
  local v1=$build/conformance/dmmap-conform-runner-v1 v2=$build/conformance/dmmap-conform-runner-v2 blocks
  blocks=$(nm "$v1" | awk '/ page_fn_/ {print substr($1, 1, length($1) - 4)}' | sort -u | wc -l)
  [ "$blocks" -eq 60 ] || fail "the 60 page functions lie in $blocks blocks of 64 KiB, not 60"
  [ "$(stat -c %s "$v1")" -eq "$(stat -c %s "$v2")" ] || fail "runner versions differ in size"
  # On the build's filesystem when it can evict (not tmpfs), else a loop-mounted ext4.
  local dir=$work/runner
  mkdir -p "$dir"
  if [ "$(stat -f -c %T "$dir")" = tmpfs ]; then
    truncate -s 64M "$work/ext4.img" && mkfs.ext4 -q -F "$work/ext4.img" && mount -o loop "$work/ext4.img" "$dir" ||
      { echo "note: /tmp is tmpfs and no loop device: runner case not run"; return 0; }
    mounts+=("$dir")
  fi
  dd if="$v1" of="$dir/runner" bs=64k status=none && chmod 755 "$dir/runner" && sync
  "$dir/runner" wait "$dir/ready" "$dir/go" >"$work/out" &
  local pid=$! i
  for i in $(seq 300); do [ -e "$dir/ready" ] && break; sleep 0.1; done
  [ -e "$dir/ready" ] || { kill "$pid"; fail "the runner did not start"; }
  dd if="$v2" of="$dir/runner.new" bs=64k status=none && chmod 755 "$dir/runner.new" && mv "$dir/runner.new" "$dir/runner"
  touch "$dir/go"
  wait "$pid" || fail "the runner exited $?"
  cat "$work/out"
  expect_output "^layout: 60 functions on 60 pages of $(getconf PAGESIZE) bytes"
  expect_output "^evict: 0 of 59 pages still resident"
  [ "$(grep -c '^page [0-9]* version 1$' "$work/out")" -eq 60 ] || fail "the renamed-over runner did not run version 1 throughout"
  rm -f "$dir/runner" "$dir/ready" "$dir/go"
}

# A filesystem mounted without lock support (dmmap-dialfs --locks off --flock
# off refuses every fcntl lock and every flock with ENOSYS):
# shared.locked-update and shared.flock-update are SKIPs with the reason, an
# environment limit, not a FAIL.
locks_unsupported_is_a_skip() {
  local dialfs=$build/conformance/tests/dialfs/dmmap-dialfs i
  [ -x "$dialfs" ] || { echo "note: dmmap-dialfs not built (no libfuse3-dev): case not run"; return 0; }
  mkdir -p "$work/store" "$work/a" "$work/b"
  "$dialfs" --store "$work/store" --mount "$work/a" --mount "$work/b" --locks off --flock off >"$work/dialfs.log" 2>&1 &
  daemon_pid=$!
  for i in $(seq 100); do grep -q "serving" "$work/dialfs.log" && break; sleep 0.1; done
  grep -q "serving" "$work/dialfs.log" || fail "dmmap-dialfs did not start: $(cat "$work/dialfs.log")"
  run 2 "$conform" --dirs "$work/a,$work/b" --gtest_filter='shared.locked_update:shared.flock_update' --report "$work/report"
  expect_status 0
  [ "$(verdict_of shared.locked-update)" = SKIP ] || fail "shared.locked-update is $(verdict_of shared.locked-update) without lock support, not SKIP"
  expect_output "fcntl locks are not supported on ranks {0,1}: Function not implemented"
  [ "$(verdict_of shared.flock-update)" = SKIP ] || fail "shared.flock-update is $(verdict_of shared.flock-update) without flock support, not SKIP"
  expect_output "flock is not supported on ranks {0,1}: Function not implemented"
}

# Environment limits are SKIPs with the reason: where the ranks cannot start
# a process (a seccomp filter denying fork, vfork and process clones; as root
# RLIMIT_NPROC would not bind), every check that starts one — it declares
# .forks, or calls the target hook, which runs as a child — SKIPs saying so
# before its body runs, and every other check still passes.
nothing_forks_is_a_skip() {
  local forking="exec.changed-after-eviction exec.changed-binary exec.deny-write exec.replace-by-rename exec.run private.isolated shared.multi-process shared.no-space shared.unresponsive-client"
  [ "$("$conform" --list | grep -E '\[needs (.*; )?fork(;|\])' | awk '{print $1}' | sort | tr '\n' ' ')" = "exec.changed-after-eviction exec.changed-binary exec.deny-write exec.replace-by-rename exec.run private.isolated shared.multi-process shared.unresponsive-client " ] ||
    fail "--list does not show exactly the forking checks' need"
  mkdir -p "$work/target"
  run 2 "$build/conformance/tests/dmmap-no-fork" "$conform" --dir "$work/target" --report "$work/report"
  expect_status 0
  local expected id
  expected=$(echo "$forking private.uncopied-view $(no_file_thp)" | tr ' ' '\n' | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//')
  [ "$(non_passing)" = "$expected" ] || fail "without fork: not passing [$(non_passing)], expected [$expected]"
  for id in $forking; do
    [ "$(verdict_of "$id")" = SKIP ] || fail "$id is $(verdict_of "$id") where no process can start, not SKIP"
    jq -e --arg id "$id" '.checks[] | select(.id == $id) | .message |
        test("this check starts processes and ranks [{]0,1[}] cannot fork: Operation not permitted")' \
      "$work/report/conformance.json" >/dev/null || fail "$id: SKIP without the reason"
  done
  # The model check does not need fork: it draws its fork stores as stores, and says so.
  jq -e '.checks[] | select(.id == "model.random-ops") | .details | any(test("no fork stores"))' \
    "$work/report/conformance.json" >/dev/null || fail "model.random-ops does not say it drew no fork stores"
  expect_empty_dir "$work/target"
  # Where processes can start the same checks run and pass: the limit made the SKIPs.
  run 2 "$conform" --dir "$work/target" --gtest_filter='exec.run:private.isolated' --report "$work/report"
  expect_status 0
  [ "$(non_passing)" = "" ] || fail "with fork: not passing [$(non_passing)]"
}

known_failures_are_wired() {
  mount_bindfs_pair
  unset DMMAP_HOOK
  for id in $BINDFS_FAILS; do echo "$id two FUSE page caches"; done >"$work/known"
  run 2 "$conform" --dirs "$work/a,$work/b" --known-failures "$work/known" --report "$work/report"
  expect_status 0
  for id in $BINDFS_FAILS; do [ "$(verdict_of "$id")" = XFAIL ] || fail "$id is $(verdict_of "$id"), not XFAIL"; done
  # A listed check that passes is an XPASS and fails the run.
  echo "private.isolated believed broken" >>"$work/known"
  run 2 "$conform" --dirs "$work/a,$work/b" --known-failures "$work/known" --report "$work/report"
  expect_status 1
  [ "$(verdict_of private.isolated)" = XPASS ] || fail "private.isolated not XPASS"
  echo "no.such-check typo" >"$work/bad-known"
  run 2 "$conform" --dirs "$work/a,$work/b" --known-failures "$work/bad-known"
  expect_status 2; expect_output "no check 'no.such-check'"
  expect_empty_dir "$work/src"
}

quick_is_quick() {
  mkdir -p "$work/target"
  local start end
  start=$(date +%s%N)
  run 2 "$conform" --dir "$work/target" --quick --report "$work/report"
  end=$(date +%s%N)
  expect_status 0
  [ "$(jq '.checks | length' "$work/report/conformance.json")" -eq "$("$conform" --list | grep -c '\[quick\]')" ] ||
    fail "--quick did not run exactly the [quick] checks"
  local checks_s
  checks_s=$(jq .duration_s "$work/report/conformance.json")
  echo "quick run: $(((end - start) / 1000000)) ms wall (mpirun start-up included), checks $checks_s s"
  # The suite's own time: mpirun start-up on a loaded CI machine is not the suite's to answer for.
  jq -e '.duration_s < 10' "$work/report/conformance.json" >/dev/null || fail "--quick checks took 10 s or more"
}

# model.random-ops: the note's replay command is complete — run as printed
# (with a --dir), it draws the very same operations (the same digest); another
# seed draws others. The file spans 2 MiB windows at 0 and above 4 GiB.
model_replays() {
  mkdir -p "$work/target"
  local note digest replay again
  model_note() { jq -r '.checks[] | select(.id == "model.random-ops") | .details[] | select(startswith("rank 0: seed"))' "$work/report/conformance.json"; }
  run 3 "$conform" --dir "$work/target" --gtest_filter='model.*' --seed 4242 --ops 300 --report "$work/report"
  expect_status 0
  note=$(model_note)
  echo "$note"
  grep -q "seed 4242, 300 operations, windows of 2097152 bytes" <<<"$note" || fail "seed, ops and file size not reported"
  grep -q "at 0 and above 4 GiB" <<<"$note" || fail "no window above 4 GiB on $(stat -f -c %T "$work/target")"
  digest=$(grep -o 'operations digest [0-9a-f]* over 300' <<<"$note") || fail "no digest of the operations"
  replay=$(grep -o 'replay: mpirun .*--model-size [0-9]*' <<<"$note") || fail "no replay command"
  grep -q -- "-np 3 " <<<"$replay" || fail "the replay command does not say the ranks"
  grep -q "on nodes with $(getconf PAGESIZE)-byte pages" <<<"$note" || fail "the replay command does not say the page size"
  # Every kind of operation is drawn, the ones added for the catalog issue too.
  local kind
  for kind in store load pwrite pread truncate msync punch append "fork store"; do
    grep -Eq "[(, ]$kind [1-9][0-9]*[,)]" <<<"$note" || fail "no '$kind' operation drawn in 300"
  done
  # shellcheck disable=SC2086
  run 3 "$conform" --dir "$work/target" --report "$work/report" $(sed 's/^replay: mpirun -np 3 dmmap-conform //' <<<"$replay")
  expect_status 0
  again=$(model_note | grep -o 'operations digest [0-9a-f]* over 300')
  [ "$again" = "$digest" ] || fail "the replay drew other operations: $again, not $digest"
  run 3 "$conform" --dir "$work/target" --gtest_filter='model.*' --seed 4243 --ops 300 --report "$work/report"
  [ "$(model_note | grep -o 'operations digest [0-9a-f]* over 300')" != "$digest" ] || fail "another seed drew the same operations"
  run 2 "$conform" --dir "$work/target" --ops 0
  expect_status 2
  run 2 "$conform" --dir "$work/target" --model-size 4096
  expect_status 2; expect_output "--model-size must be at least 65536"
}

docs_cover_the_catalog() {
  local doc=$3
  for id in $("$conform" --list | awk '{print $1}'); do
    grep -q "^### \`$id\`" "$doc" || fail "docs/conformance.md has no entry for $id"
  done
}

bad_inputs_are_refused() {
  run 2 "$conform" --dir /nonexistent/dmmap-target
  expect_status 2; expect_output "No such file or directory"
  echo x >"$work/file"
  run 2 "$conform" --dir "$work/file"
  expect_status 2; expect_output "not a directory"
  mkdir -p "$work/ro" "$work/one" "$work/two"
  if mount -t tmpfs -o ro,size=1m tmpfs "$work/ro"; then
    mounts+=("$work/ro")
    run 2 "$conform" --dir "$work/ro"
    expect_status 2; expect_output "read-only"
  else
    echo "note: cannot mount a read-only tmpfs here; read-only case not run"
  fi
  run 2 "$conform" --dirs "$work/one,$work/two"
  expect_status 2; expect_output "rank 1: cannot see the marker"
  expect_empty_dir "$work/one"; expect_empty_dir "$work/two"
  run 2 "$conform" --dir "$work/one" --expect sometimes
  expect_status 2; expect_output "--expect takes"
  run 2 "$conform" --dir "$work/one" --race-seconds 0
  expect_status 2; expect_output "--race-seconds takes a number of seconds"
  run 2 "$conform" --dir "$work/one" --race-seconds 40 --timeout 60s
  expect_status 2; expect_output "must be at most half of --timeout"
  run 2 "$conform"
  expect_status 2; expect_output "say where to run"
}

# The target hook: called on the right rank with the action and a directory
# of its client; "unsupported" (exit 3) and no hook at all are SKIPs with the
# reason, any other failure FAILs the check with the hook's words; a hook that
# is not an executable is refused before anything runs.
hook_is_wired() {
  mkdir -p "$work/target"
  export DMMAP_HOOK_LOG=$work/hook.log
  run 2 "$conform" --dir "$work/target" --gtest_filter='*eviction*:*unresponsive*' --report "$work/report"
  expect_status 0
  [ "$(non_passing)" = "$EVICTION_SHOWS_NOTHING" ] || fail "hook checks not as expected with the single-node hook: $(non_passing)"
  expect_eviction_not_exercised
  [ "$(cut -d' ' -f1 "$work/hook.log" | tr '\n' ' ')" = "evict freeze thaw " ] ||
    fail "hook not called evict, freeze, thaw once each: $(cat "$work/hook.log")"
  grep -q "^evict $work/target/dmmap-.*/exec-changed-after-eviction$" "$work/hook.log" ||
    fail "evict not given the check's directory: $(cat "$work/hook.log")"
  [ "$(jq -r .hook "$work/report/conformance.json")" = "$single_node_hook" ] || fail "conformance.json does not name the hook"
  unset DMMAP_HOOK
  run 2 "$conform" --dir "$work/target" --gtest_filter='*eviction*:*unresponsive*' --report "$work/report"
  expect_status 0
  [ "$(verdict_of shared.unresponsive-client)" = SKIP ] || fail "no hook: not SKIP"
  expect_output "needs a target hook that can 'freeze'"
  [ "$(jq -r .hook "$work/report/conformance.json")" = null ] || fail "conformance.json names a hook there was none"
  printf '#!/bin/sh\necho "this target cannot $1" >&2\nexit 3\n' >"$work/hook3"
  printf '#!/bin/sh\necho "admin socket gone" >&2\nexit 1\n' >"$work/hook1"
  chmod +x "$work/hook3" "$work/hook1"
  run 2 "$conform" --dir "$work/target" --gtest_filter='*eviction*' --hook "$work/hook3" --report "$work/report"
  expect_status 0
  [ "$(verdict_of exec.changed-after-eviction)" = SKIP ] || fail "unsupported action: not SKIP"
  expect_output "this target cannot evict"
  run 2 "$conform" --dir "$work/target" --gtest_filter='*eviction*' --hook "$work/hook1" --report "$work/report"
  expect_status 1
  [ "$(verdict_of exec.changed-after-eviction)" = FAIL ] || fail "failing hook: not FAIL"
  expect_output "admin socket gone"
  run 2 "$conform" --dir "$work/target" --hook "$work/no-such-hook"
  expect_status 2; expect_output "is not an executable file"
  DMMAP_HOOK=$work/target run 2 "$conform" --dir "$work/target"
  expect_status 2; expect_output "DMMAP_HOOK"
  expect_empty_dir "$work/target"
}

selftest_reports_by_rank() {
  mkdir -p "$work/target"
  # A fatal failure on rank 1 ends that check on every rank and names rank 1; the next check still runs.
  DMMAP_SELFTEST_RANK=1 run 3 "$selftest" --dir "$work/target" --report "$work/report" --timeout 20s
  expect_status 1
  [ "$(verdict_of selftest.fatal-early)" = FAIL ] || fail "fatal-early not FAIL"
  [ "$(jq -c '.checks[] | select(.id=="selftest.fatal-early") | .ranks' "$work/report/conformance.json")" = "[1]" ] ||
    fail "fatal-early does not name rank 1"
  [ "$(level_of selftest.level)" = msync ] || fail "check after the failure did not run"
  # A rank that never arrives is a HANG naming it, and the job ends.
  DMMAP_SELFTEST_HANG=1 DMMAP_SELFTEST_RANK=2 run 3 "$selftest" --dir "$work/target" --report "$work/report" --timeout 3s
  expect_status 4
  [ "$(verdict_of selftest.zz-hang)" = HANG ] || fail "no HANG verdict"
  [ "$(jq -c '.checks[] | select(.id=="selftest.zz-hang") | .ranks' "$work/report/conformance.json")" = "[2]" ] ||
    fail "HANG does not name rank 2"
  expect_empty_dir "$work/target"
}

# Aggregation and the time limit: one rank's SKIP never hides another's FAIL;
# the reason is the first failure in time; a check that would synchronise
# forever ends at --check-time-limit as a FAIL naming it, and the run goes on.
selftest_aggregates_and_limits() {
  mkdir -p "$work/target"
  DMMAP_SELFTEST_RANK=1 DMMAP_SELFTEST_ENDLESS=1 run 2 "$selftest" --dir "$work/target" --report "$work/report" \
    --check-time-limit 3s --gtest_filter='selftest.skip_and_fail:selftest.late_and_early:selftest.endless:selftest.level'
  expect_status 1
  [ "$(verdict_of selftest.skip-and-fail)" = FAIL ] || fail "a skip hid a failure: $(verdict_of selftest.skip-and-fail)"
  jq -r '.checks[] | select(.id=="selftest.late-and-early") | .message' "$work/report/conformance.json" |
    grep -q "rank 1: the first failure in time" || fail "late-and-early does not report the first failure in time"
  [ "$(verdict_of selftest.endless)" = FAIL ] || fail "endless not ended as FAIL"
  expect_output "selftest.endless ran past its time limit of 3 s"
  [ "$(level_of selftest.level)" = msync ] || fail "the check after the time limit did not run"
  expect_empty_dir "$work/target"
}

# A client is a page cache: two bind mounts of one tmpfs directory, or
# mpirun on one host with --dir, are one client, and the run says it is a
# control run in the verdict line, summary.md and conformance.json.
one_cache_is_one_client() {
  mkdir -p "$work/tmpfs" "$work/a" "$work/b"
  mount -t tmpfs -o size=64m tmpfs "$work/tmpfs" && mounts+=("$work/tmpfs")
  mkdir -p "$work/tmpfs/d"
  mount --bind "$work/tmpfs/d" "$work/a" && mounts+=("$work/a")
  mount --bind "$work/tmpfs/d" "$work/b" && mounts+=("$work/b")
  for args in "--dirs $work/a,$work/b" "--dir $work/a"; do
    # shellcheck disable=SC2086
    run 2 "$conform" $args --quick --report "$work/report"
    expect_status 0
    expect_output "VERDICT: PASS at expected level strict in a CONTROL RUN"
    [ "$(jq .clients.count "$work/report/conformance.json")" = 1 ] || fail "$args: not one client"
    [ "$(jq .multi_client "$work/report/conformance.json")" = false ] || fail "$args: multi_client not false"
    [ "$(jq -c '[.clients.ranks[].client]' "$work/report/conformance.json")" = "[0,0]" ] || fail "$args: client ids"
    [ "$(jq -r '.clients.ranks[1].hostname' "$work/report/conformance.json")" = "$(uname -n)" ] || fail "no hostname"
    grep -q "control run" "$work/report/summary.md" || fail "$args: summary.md does not say control run"
    [ "$(jq '[.checks[] | select(.verdict == "SKIP")] | length' "$work/report/conformance.json")" = 0 ] ||
      fail "$args: a control run skipped checks"
  done
  expect_empty_dir "$work/tmpfs/d"
}

# Two bindfs mounts of one directory are two page caches, so two clients,
# proven; with 8 ranks placed 4 and 4 (two "nodes"), a check's writer and
# reader are still one of each (roles [0,4,...]).
bindfs_mounts_are_two_clients() {
  mount_bindfs_pair
  unset DMMAP_HOOK
  run 2 "$conform" --dirs "$work/a,$work/b" --gtest_filter='shared.store_visible' --report "$work/report"
  expect_status 1
  [ "$(jq .clients.count "$work/report/conformance.json")" = 2 ] || fail "bindfs pair not two clients"
  [ "$(jq .multi_client "$work/report/conformance.json")" = true ] || fail "multi_client not true"
  grep -q "CONTROL RUN" "$work/out" && fail "a two-client run called a control run"
  local a=$work/a b=$work/b
  run 8 "$conform" --dirs "$a,$a,$a,$a,$b,$b,$b,$b" --max-active 2 --gtest_filter='shared.store_visible' \
    --report "$work/report"
  expect_status 1
  [ "$(jq -c '[.clients.ranks[].client]' "$work/report/conformance.json")" = "[0,0,0,0,1,1,1,1]" ] ||
    fail "2 x 4 ranks: client ids $(jq -c '[.clients.ranks[].client]' "$work/report/conformance.json")"
  [ "$(jq -c '.checks[0].roles' "$work/report/conformance.json")" = "[0,4]" ] || fail "writer and reader not 0 and 4"
  [ "$(verdict_of shared.store-visible)" = FAIL ] || fail "two caches not caught across the two mounts"
  expect_empty_dir "$work/src"
}

# Scale: 128 ranks on this host (oversubscribed) give the same verdict and
# level in every check as 2 ranks, no check reaching its time limit; each
# run's duration is printed (docs/conformance.md has the measured table).
scale_keeps_verdicts() {
  mkdir -p "$work/target"
  local np summary=() first="" run_timeout=1500
  for np in 2 ${DMMAP_SCALE_RANKS:-128}; do
    run "$np" "$conform" --dir "$work/target" --seed 4242 --report "$work/report-$np" --timeout 120s
    expect_status 0
    local verdicts
    verdicts=$(jq -c '[.checks[] | [.id, .verdict, (.level // "-")]]' "$work/report-$np/conformance.json")
    [ -n "$first" ] || first=$verdicts
    [ "$verdicts" = "$first" ] || fail "np $np verdicts differ from np 2: $verdicts vs $first"
    grep -q "time limit" "$work/report-$np/conformance.json" && fail "np $np: a check reached its time limit"
    summary+=("np $np: $(jq .duration_s "$work/report-$np/conformance.json") s; slowest check: $(jq -r \
      '[.checks[] | {id, duration_s}] | max_by(.duration_s) | "\(.id) \(.duration_s) s"' "$work/report-$np/conformance.json")")
  done
  printf '%s\n' "${summary[@]}"
  expect_empty_dir "$work/target"
}

case "$case_name" in
  local-np2) every_check_passes_strict 2 ;;
  local-np3) every_check_passes_strict 3 ;;
  local-np4) every_check_passes_strict 4 ;;
  tmpfs) on_tmpfs ;;
  ext4-loop) on_ext4_loop ;;
  ext4-coarse-times) on_ext4_with_coarse_times ;;
  bindfs) bindfs_is_incoherent ;;
  bindfs-hard-remove) hard_remove_breaks_open_unlinked_files ;;
  noexec) noexec_skips_exec ;;
  runner) runner_evicts_what_it_runs ;;
  locks-off) locks_unsupported_is_a_skip ;;
  known-failures) known_failures_are_wired ;;
  quick) quick_is_quick ;;
  model-replay) model_replays ;;
  docs) docs_cover_the_catalog "$@" ;;
  bad-inputs) bad_inputs_are_refused ;;
  hook) hook_is_wired ;;
  selftest) selftest_reports_by_rank ;;
  selftest-aggregation) selftest_aggregates_and_limits ;;
  clients-one) one_cache_is_one_client ;;
  clients-bindfs) bindfs_mounts_are_two_clients ;;
  no-fork) nothing_forks_is_a_skip ;;
  scale) scale_keeps_verdicts ;;
  *) echo "unknown case $case_name" >&2; exit 2 ;;
esac
echo "PASS: $case_name"
