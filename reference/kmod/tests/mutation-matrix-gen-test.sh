#!/usr/bin/env bash
# dmfs_mutation_matrix_gen: the matrix generator on hand-made runs (no guest).
# A suite killed at the run timeout leaves no report; the FAIL it printed as
# a check ended must still count as the catch, and the row must say the run
# was cut. A row run with other arguments than the matrix's names them.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d /tmp/dmmap-mmgen-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

echo "--ops 300" >"$work/conform-args"
mkdir -p "$work/baseline" "$work/dmfsd-cut" "$work/dmfsd-other"
printf 'switch=baseline\nexit=0\nseconds=9\nkernel_reports=0\n' >"$work/baseline/status"
echo '{"verdict": "PASS", "checks": [{"id": "shared.ping-pong", "verdict": "PASS"}]}' >"$work/baseline/conformance.json"
printf 'switch=dmfsd:cut\nexit=124\nseconds=600\nkernel_reports=0\n' >"$work/dmfsd-cut/status"
cat >"$work/dmfsd-cut/console.log" <<'LOG'
[ 1/31] exec.run                           PASS                  0.90 s
[ 2/31] shared.flock-update                FAIL                484.87 s  failed on ranks {0,1}: ran past its time limit
LOG
printf 'switch=dmfsd:other\nexit=1\nseconds=9\nkernel_reports=0\nargs=--ops 300 --check-time-limit 60s\n' >"$work/dmfsd-other/status"
echo '{"verdict": "FAIL", "checks": [{"id": "shared.ping-pong", "verdict": "FAIL", "message": "lost"}]}' >"$work/dmfsd-other/conformance.json"

doc=$("$here/mutation-matrix.sh" gen "$work")
grep -qF '| `dmfsd:cut` | `shared.flock-update` FAIL | killed at the run timeout after 2 of 31 checks | 1 | 124 | 600 | 0 |' <<<"$doc" ||
  fail "the cut run's printed FAIL is not its catch: $(grep 'dmfsd:cut' <<<"$doc")"
grep -qF '| `dmfsd:other` | `shared.ping-pong` FAIL | FAIL (run with `--ops 300 --check-time-limit 60s`) |' <<<"$doc" ||
  fail "the row run with other arguments does not name them: $(grep 'dmfsd:other' <<<"$doc")"
grep -qF 'run of `dmmap-conform --ops 300`' <<<"$doc" || fail "the header does not name the runs' arguments"
grep -q 'None: every switch is caught' <<<"$doc" || fail "a hole where every switch is caught"
echo "PASS: dmfs_mutation_matrix_gen"
