#!/usr/bin/env bash
# End-to-end runs of dmmap-certify under mpirun, and checks of what it leaves.
# Usage: certify.sh CASE BUILD_DIR SOURCE_DIR
#   local     produce a bundle on a local directory (a control run, allowed),
#             verify it, validate result.json, then tamper with every file in
#             turn (and add, remove, edit result.json): each must fail --verify
#   refused   a one-client run without allow_control_run: exit 2, nothing left
#   bindfs    produce and verify a bundle on two bindfs mounts of one directory
#             (the catalog FAILs there: exit 1, the bundle still verifies)
#   config    bad configurations: exit 2 naming the line, nothing left behind
#   browser   report.html in headless Chromium: loads without errors, draws
#             its charts; a screenshot (DMMAP_SCREENSHOT=FILE to keep one)
#   dmfs      in the qemu guest (ci/guest-run, one guest at a time): the whole
#             catalog and a few benchmarks on two dmfs clients; on the host the
#             bundle verifies, names dmfs and its cache mode, and a change fails
#   cluster-srun  on 2 dmfs nodes of ci/cluster-run (one guest job): one srun
#             job step (PMIx), one rank per node, the quick subset and a few
#             benchmarks; on the host the bundle verifies (and from its .tgz),
#             is a multi-client run (node0 and node1, two clients, no
#             allow_control_run), PASSes on dmfs, and every change fails
#             --verify. Output kept in DMMAP_CERTIFY_OUT (default
#             BUILD_DIR/ci/cluster-out/certify-srun) for a look afterwards.
set -euo pipefail
case_name=$1 build=$2 source=$3
certify=$build/conformance/certify/dmmap-certify
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_mpi_yield_when_idle=${OMPI_MCA_mpi_yield_when_idle:-1}
work=$(mktemp -d /tmp/dmmap-certify-XXXXXX)
mounts=()
cleanup() {
  for m in "${mounts[@]}"; do fusermount -u "$m" 2>/dev/null || umount "$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# A small run: a few checks of each family, a few benchmarks, short.
write_config() { # FILE TARGET-LINE [extra lines...]
  local file=$1; shift
  {
    echo "; dmmap-certify test configuration"
    echo "[global]"
    echo "$1"; shift
    echo "resultdir = $work/results"
    for line in "$@"; do echo "$line"; done
    echo "[conform]"
    echo "filter = shared.store-visible:shared.truncate:private.*:exec.deny-write"
    echo "[bench]"
    echo "filter = read_fault/cached/fault_around:on|revocation|throughput/write/file_per_rank"
    echo "min_time = 0.002"
    echo "pages = 16"
    echo "sizes = 64K"
    echo "dirty = 1,16,64"
  } >"$file"
}

# run NP CONFIG: status in $status, stdout in $work/out, stderr in $work/err
run() {
  set +e
  timeout -k 5 300 mpirun --oversubscribe -np "$1" "$certify" "$2" >"$work/out" 2>"$work/err"
  status=$?
  set -e
}

the_bundle() {
  local dirs=("$work"/results/dmmap-*/)
  [ -d "${dirs[0]}" ] || fail "no result directory in $work/results: $(cat "$work/err")"
  [ ${#dirs[@]} -eq 1 ] || fail "several result directories: ${dirs[*]}"
  bundle=${dirs[0]%/}
}

expect_verify() { # STATUS DIR WHAT
  local s=0
  "$certify" --verify "$2" >"$work/verify.out" 2>&1 || s=$?
  [ "$s" -eq "$1" ] || fail "--verify after $3: exit $s, expected $1: $(cat "$work/verify.out")"
}

check_bundle_files() {
  the_bundle
  for f in config.ini config.resolved.ini conformance.json junit.xml summary.md bench.json report.html result.json \
    logs/rank-0.log logs/rank-1.log; do
    [ -s "$bundle/$f" ] || fail "bundle lacks $f"
  done
}

check_bundle() {
  check_bundle_files
  [ -s "$bundle.tgz" ] || fail "no $bundle.tgz"
  expect_verify 0 "$bundle" "the run"
  "$source/docs/schema/validate" result "$bundle/result.json" >/dev/null
  "$source/docs/schema/validate" conformance "$bundle/conformance.json" >/dev/null
  "$source/docs/schema/validate" bench "$bundle/bench.json" >/dev/null
  # The tarball holds the same directory.
  mkdir "$work/unpacked"
  tar -xzf "$bundle.tgz" -C "$work/unpacked"
  expect_verify 0 "$work/unpacked/$(basename "$bundle")" "unpacking the .tgz"
  rm -rf "$work/unpacked"
  # Progress went to stderr: phases, n of N, elapsed and remaining time.
  grep -q '^\[dmmap-certify conformance 1/[0-9]* | 0:[0-9][0-9] elapsed, ? left\] ' "$work/err" ||
    fail "no conformance progress on stderr"
  grep -q '^\[dmmap-certify benchmarks [0-9]*/[0-9]* | [0-9:]* elapsed, ~[0-9:]* left\] ' "$work/err" ||
    fail "no benchmark progress on stderr"
}

# Every way of changing a bundle must fail --verify; the copy is restored each time.
tamper_each() {
  local copy=$work/copy f
  while IFS= read -r f; do
    rm -rf "$copy" && cp -a "$bundle" "$copy"
    printf 'x' >>"$copy/$f"
    expect_verify 1 "$copy" "appending to $f"
    rm -rf "$copy" && cp -a "$bundle" "$copy"
    rm "$copy/$f"
    expect_verify $([ "$f" = result.json ] && echo 2 || echo 1) "$copy" "removing $f"
  done < <(cd "$bundle" && find . -type f | sed 's|^\./||' | sort)
  rm -rf "$copy" && cp -a "$bundle" "$copy"
  # Flip the verdict and the control-run flag, whichever way they are.
  sed -i 's/"verdict": "PASS"/"verdict": "@FAIL@"/; s/"verdict": "FAIL"/"verdict": "PASS"/; s/@FAIL@/FAIL/;
          s/"control_run": true/"control_run": @false@/; s/"control_run": false/"control_run": true/; s/@false@/false/' \
    "$copy/result.json"
  cmp -s "$copy/result.json" "$bundle/result.json" && fail "the edit of result.json changed nothing"
  expect_verify 1 "$copy" "editing result.json's fields"
  rm -rf "$copy" && cp -a "$bundle" "$copy"
  echo > "$copy/unlisted.txt"
  expect_verify 1 "$copy" "adding a file"
  rm -rf "$copy"
  echo "tampering: $(cd "$bundle" && find . -type f | wc -l) files, each changed and removed, plus an edit and an addition: all fail --verify"
}

case $case_name in
  local)
    mkdir "$work/target"
    export DMMAP_HOOK=$source/conformance/tests/single-node-hook
    write_config "$work/c.ini" "dir = $work/target" "allow_control_run = true" "profile = local"
    run 2 "$work/c.ini"
    [ "$status" -eq 0 ] || fail "exit $status: $(tail -20 "$work/err")"
    check_bundle
    # A control run says so on the first line of its reports.
    head -1 "$bundle/summary.md" | grep -q '^CONTROL RUN: 1 client' || fail "summary.md does not start with CONTROL RUN"
    grep -q '<body>' "$bundle/report.html" && sed -n '/<body>/{n;p;q}' "$bundle/report.html" | grep -q 'CONTROL RUN' ||
      fail "report.html does not start with CONTROL RUN"
    [ "$(jq .control_run "$bundle/result.json")" = true ] || fail "result.json: control_run is not true"
    [ "$(jq -r '.profile.name + " " + (.profile.applied | tostring)' "$bundle/result.json")" = "local true" ] ||
      fail "result.json: the profile is not local, applied"
    [ "$(jq -r .profile.name "$bundle/conformance.json")" = local ] || fail "the checks did not use profile local"
    cmp -s "$work/c.ini" "$bundle/config.ini" || fail "config.ini is not the configuration as given"
    grep -q '^allow_control_run = true$' "$bundle/config.resolved.ini" || fail "config.resolved.ini"
    grep -q '^min_time = 0.002$' "$bundle/config.resolved.ini" || fail "config.resolved.ini lacks min_time"
    grep -q 'shared.store-visible: ' "$bundle/logs/rank-1.log" || fail "rank 1's log lacks its outcomes"
    [ -z "$(ls -A "$work/target")" ] || fail "left behind in the target: $(ls -A "$work/target")"
    tamper_each
    ;;
  refused)
    mkdir "$work/target"
    write_config "$work/c.ini" "dir = $work/target"
    run 2 "$work/c.ini"
    [ "$status" -eq 2 ] || fail "exit $status, expected 2"
    grep -q 'refused: CONTROL RUN: 1 client' "$work/err" || fail "no refusal message: $(cat "$work/err")"
    [ ! -e "$work/results" ] || [ -z "$(ls -A "$work/results")" ] || fail "a refused run left $(ls "$work/results")"
    [ -z "$(ls -A "$work/target")" ] || fail "left behind in the target: $(ls -A "$work/target")"
    echo "refused with exit 2: $(cat "$work/err")"
    ;;
  bindfs)
    mkdir -p "$work/src" "$work/a" "$work/b"
    bindfs "$work/src" "$work/a" && mounts+=("$work/a")
    bindfs "$work/src" "$work/b" && mounts+=("$work/b")
    # Two bindfs mounts are two page caches: a multi-client run, not refused.
    write_config "$work/c.ini" "dirs = $work/a,$work/b"
    run 2 "$work/c.ini"
    # Two page caches never told about each other: shared.store-visible FAILs.
    [ "$status" -eq 1 ] || fail "exit $status, expected 1 (a FAIL): $(tail -20 "$work/err")"
    check_bundle
    [ "$(jq -r .control_run "$bundle/result.json")" = false ] || fail "two bindfs mounts were not two clients"
    [ "$(jq -r .verdict "$bundle/result.json")" = FAIL ] || fail "verdict is not FAIL"
    [ "$(jq -r '.checks[] | select(.id == "shared.store-visible") | .verdict' "$bundle/conformance.json")" = FAIL ] ||
      fail "shared.store-visible did not FAIL on bindfs"
    grep -q "<td>fuse (fuse)</td>" "$bundle/report.html" && grep -qF "$work/b" "$bundle/report.html" ||
      fail "the report does not show the bindfs mounts"
    tamper_each
    ;;
  config)
    mkdir "$work/target"
    printf '[global]\ndir = %s\nresultdir = %s\n\n[bench]\nmin_time = soon\n' "$work/target" "$work/results" >"$work/bad.ini"
    run 1 "$work/bad.ini"
    [ "$status" -eq 2 ] || fail "bad value: exit $status"
    grep -qF "$work/bad.ini:6: [bench] min_time: " "$work/err" || fail "bad value: $(cat "$work/err")"
    printf '[global]\ndir = %s\nretries = 3\n' "$work/target" >"$work/unknown.ini"
    run 1 "$work/unknown.ini"
    [ "$status" -eq 2 ] && grep -qF "$work/unknown.ini:3: unknown key 'retries'" "$work/err" || fail "unknown key: $(cat "$work/err")"
    printf '[global]\ndir = %s\nprofile = no-such-profile\n' "$work/target" >"$work/profile.ini"
    run 1 "$work/profile.ini"
    [ "$status" -eq 2 ] && grep -q "no-such-profile" "$work/err" || fail "unknown profile: $(cat "$work/err")"
    run 1 "$work/missing.ini"
    [ "$status" -eq 2 ] && grep -q "cannot read the configuration" "$work/err" || fail "missing file: $(cat "$work/err")"
    printf '[global]\ndir = %s/nonexistent\nresultdir = %s\nallow_control_run = true\n' "$work" "$work/results" >"$work/nodir.ini"
    run 1 "$work/nodir.ini"
    [ "$status" -eq 2 ] && grep -q "cannot use the target" "$work/err" || fail "missing target: $(cat "$work/err")"
    printf '[global]\ndir = %s\nresultdir = %s\nallow_control_run = true\n\n[bench]\nfilter = no-such-benchmark\n' \
      "$work/target" "$work/results" >"$work/nobench.ini"
    run 1 "$work/nobench.ini"
    [ "$status" -eq 2 ] && grep -q "filter 'no-such-benchmark' selects none of the" "$work/err" ||
      fail "a filter selecting no benchmark: exit $status: $(cat "$work/err")"
    [ ! -e "$work/results" ] || fail "a failed run left $(ls "$work/results")"
    s=0; "$certify" >/dev/null 2>&1 || s=$?; [ "$s" -eq 2 ] || fail "no argument: exit $s"
    s=0; "$certify" --verify "$work" >/dev/null 2>&1 || s=$?; [ "$s" -eq 2 ] || fail "--verify on a non-bundle: exit $s"
    "$certify" --list-options | grep -q '^allow_control_run *= false' || fail "--list-options"
    echo "bad configurations: exit 2 with FILE:LINE, nothing left behind"
    ;;
  browser)
    mkdir "$work/target"
    export DMMAP_HOOK=$source/conformance/tests/single-node-hook
    write_config "$work/c.ini" "dir = $work/target" "allow_control_run = true"
    run 2 "$work/c.ini"
    [ "$status" -eq 0 ] || fail "exit $status: $(tail -20 "$work/err")"
    the_bundle
    "$here/render-report" "$bundle/report.html" "${DMMAP_SCREENSHOT:-$work/shot.png}"
    # The checker itself: a page with a script error, and one without charts, must fail.
    sed 's|<body>|<body><script>undefined_function();</script>|' "$bundle/report.html" >"$work/broken.html"
    s=0; "$here/render-report" "$work/broken.html" "$work/b.png" >/dev/null 2>&1 || s=$?
    [ "$s" -eq 1 ] || fail "render-report accepted a page with a script error (exit $s)"
    sed 's|<svg|<svg style="display:none"|g' "$bundle/report.html" >"$work/hidden.html"
    s=0; "$here/render-report" "$work/hidden.html" "$work/h.png" >/dev/null 2>&1 || s=$?
    [ "$s" -eq 1 ] || fail "render-report accepted a page whose charts are not drawn (exit $s)"
    ;;
  dmfs)
    out=$work/guest
    s=0
    DMMAP_BUILD_DIR=$build "$source/ci/guest-run" --out "$out" --target dmfs --clients 2 --timeout 900 -- \
      "$here/guest-certify" "$certify" 2 || s=$?
    [ "$s" -eq 0 ] || fail "dmmap-certify in the guest: exit $s: $(cat "$out/guest-result.txt" 2>/dev/null)"
    mkdir -p "$work/results" && mv "$out"/results/dmmap-* "$work/results/"
    check_bundle_files
    expect_verify 0 "$bundle" "the guest run"
    "$source/docs/schema/validate" result "$bundle/result.json" >/dev/null
    [ "$(jq -r .verdict "$bundle/result.json")" = PASS ] || fail "the catalog did not PASS on dmfs"
    jq -e '.environment.ranks | all(.filesystem.fs_type == "dmfs")' "$bundle/conformance.json" >/dev/null ||
      fail "the environment does not name dmfs"
    grep -q 'lock_cache_max=' "$bundle/report.html" || fail "the report lacks dmfs's cache mode"
    printf 'x' >>"$bundle/summary.md"
    expect_verify 1 "$bundle" "appending to summary.md"
    ;;
  cluster-srun)
    out=${DMMAP_CERTIFY_OUT:-$build/ci/cluster-out/certify-srun}
    s=0
    DMMAP_BUILD_DIR=$build "$source/ci/cluster-run" --nodes 2 --target dmfs --out "$out" --timeout 900 -- \
      "$here/cluster-certify" "$certify" "$source" || s=$?
    [ "$s" -eq 0 ] || fail "dmmap-certify through srun: exit $s: $(cat "$out/cluster-result.txt" 2>/dev/null)"
    grep -q '_slurm_rpc_allocate_resources JobId=1 NodeList=node\[0-1\]' "$out/node0/slurmctld.log" ||
      fail "Slurm did not run the job on node0 and node1"
    mkdir -p "$work/results" && cp -a "$out"/results/dmmap-* "$work/results/"
    cp "$out/stderr.log" "$work/err"
    check_bundle
    [ "$(jq -r .verdict "$bundle/result.json")" = PASS ] || fail "the catalog did not PASS on dmfs across the nodes"
    jq -e '.control_run == false and .clients.count == 2 and .clients.multi_client and
           ([.clients.ranks[].hostname] == ["node0", "node1"]) and
           (.clients.ranks[0].client != .clients.ranks[1].client)' "$bundle/result.json" >/dev/null ||
      fail "not a multi-client run of node0 and node1: $(jq -c .clients "$bundle/result.json")"
    jq -e '.environment.ranks | all(.filesystem.fs_type == "dmfs")' "$bundle/conformance.json" >/dev/null ||
      fail "the environment does not name dmfs"
    grep -q 'lock_cache_max=' "$bundle/report.html" || fail "the report lacks dmfs's cache mode"
    tamper_each
    ;;
  *) fail "unknown case $case_name" ;;
esac
echo "certify.$case_name: PASS"
