#!/usr/bin/env bash
# mutation-matrix.sh run --only refuses a switch name it does not know
# (before, "fi_skip_fault_lock" without its "kmod:" ran the suite with no
# switch on, which passed and looked like a hole). No guest is booted.
# usage: mutation-matrix-only-test.sh BUILD_DIR
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
msg=$(timeout 30 "$here/mutation-matrix.sh" run "$1" "$out/run" --only baseline,fi_skip_fault_lock 2>&1)
rc=$?
echo "$msg"
[ "$rc" = 2 ] || { echo "FAIL: exit $rc, not 2"; exit 1; }
grep -q "no switch 'fi_skip_fault_lock'" <<<"$msg" || { echo "FAIL: the unknown name is not named"; exit 1; }
grep -q "kmod:fi_skip_fault_lock" <<<"$msg" || { echo "FAIL: the known names are not listed"; exit 1; }
[ ! -e "$out/run" ] || { echo "FAIL: it started a run"; exit 1; }
echo PASS
