#!/usr/bin/env bash
# End-to-end runs of dmmap-conform under mpirun, asserting what the suite reports.
# Usage: integration.sh CASE BUILD_DIR   (CASE: local-np2 local-np3 bindfs bad-inputs selftest)
set -euo pipefail
case_name=$1
build=$2
conform=$build/conformance/dmmap-conform
selftest=$build/conformance/tests/dmmap-conform-selftest
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d /tmp/dmmap-it-XXXXXX)
mounts=()
cleanup() {
  for m in "${mounts[@]}"; do fusermount -u "$m" 2>/dev/null || umount "$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
# run NP ARGS... : runs the suite, keeps stdout+stderr in $work/out and the status in $status
run() {
  local np=$1; shift
  set +e
  timeout -k 5 300 mpirun --oversubscribe -np "$np" "$@" >"$work/out" 2>&1
  status=$?
  set -e
  cat "$work/out"
}
verdict_of() { jq -r --arg id "$1" '.checks[] | select(.id == $id) | .verdict' "$work/report/conformance.json"; }
level_of() { jq -r --arg id "$1" '.checks[] | select(.id == $id) | .level // "-"' "$work/report/conformance.json"; }
expect_status() { [ "$status" -eq "$1" ] || fail "exit status $status, expected $1"; }
expect_output() { grep -q -- "$1" "$work/out" || fail "output lacks: $1"; }
expect_empty_dir() { [ -z "$(ls -A "$1")" ] || fail "$1 not left empty: $(ls -A "$1")"; }

every_check_passes_strict() {
  local np=$1
  mkdir -p "$work/target"
  run "$np" "$conform" --dir "$work/target" --report "$work/report"
  expect_status 0
  [ "$(jq -r .verdict "$work/report/conformance.json")" = PASS ] || fail "verdict not PASS"
  local bad
  bad=$(jq -r '.checks[] | select(.verdict != "PASS") | .id' "$work/report/conformance.json")
  [ -z "$bad" ] || fail "checks not passing on a local filesystem: $bad"
  [ "$(level_of shared.store-visible)" = strict ] || fail "local filesystem below strict"
  [ "$(jq '.environment.ranks | length' "$work/report/conformance.json")" -eq "$np" ] || fail "environment lacks ranks"
  grep -q '<testsuites' "$work/report/junit.xml" || fail "no junit.xml"
  expect_empty_dir "$work/target"
}

bindfs_is_incoherent() {
  mkdir -p "$work/src" "$work/a" "$work/b"
  bindfs "$work/src" "$work/a" && mounts+=("$work/a")
  bindfs "$work/src" "$work/b" && mounts+=("$work/b")
  run 2 "$conform" --dirs "$work/a,$work/b" --report "$work/report"
  expect_status 1
  [ "$(verdict_of shared.store-visible)" = FAIL ] || fail "two FUSE page caches passed shared.store-visible"
  local level
  level=$(level_of shared.store-visible)
  case "$level" in msync|close-to-open|none) ;; *) fail "bindfs level '$level' is not below strict" ;; esac
  [ "$(verdict_of private.isolated)" = PASS ] || fail "private.isolated failed on bindfs"
  expect_output "VERDICT: FAIL"
  # The same run accepts the level it reaches.
  run 3 "$conform" --dirs "$work/a,$work/b" --expect "$level" --report "$work/report"
  expect_status 0
  expect_empty_dir "$work/src"
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
  run 2 "$conform"
  expect_status 2; expect_output "say where to run"
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

case "$case_name" in
  local-np2) every_check_passes_strict 2 ;;
  local-np3) every_check_passes_strict 3 ;;
  bindfs) bindfs_is_incoherent ;;
  bad-inputs) bad_inputs_are_refused ;;
  selftest) selftest_reports_by_rank ;;
  *) echo "unknown case $case_name" >&2; exit 2 ;;
esac
echo "PASS: $case_name"
