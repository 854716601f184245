#!/usr/bin/env bash
# bench-ratios.py on made-up figures: each ratio is the quotient it claims
# to be, the targets are judged, and a missing measurement fails the run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
t=$(mktemp -d /tmp/dmmap-ratios-XXXXXX)
trap 'rm -rf "$t"' EXIT
row() { # NAME STAT VALUE [EXTRA_JSON]
  printf '{"name": "%s/manual_time", "run_type": "iteration", "%s": %s%s}' "$1" "$2" "$3" "${4:-}"
}
bench() { # DIR UNCACHED CACHED MKWRITE READBACK_BPS REVOKE1 REVOKE64 STAT
  mkdir -p "$1"
  cat >"$1/bench.json" <<JSON
{"benchmarks": [
 $(row read_fault/uncached/fault_around:off/pages:64/ranks:1 p50_ns 1),
 $(row read_fault/uncached/fault_around:off/pages:64/ranks:2 p50_ns "$2"),
 $(row read_fault/cached/fault_around:off/pages:64/ranks:2 p50_ns "$3"),
 $(row write_fault/mkwrite/fault_around:off/pages:64/ranks:2 p50_ns "$4"),
 $(row throughput/readback/file_per_rank/bytes:4194304/ranks:2 bytes_per_second "$5"),
 $(row revocation/dirty:1/ranks:2 p50_ns "$6"),
 $(row revocation/dirty:64/ranks:2 p50_ns "$7"),
 $(row stat/remote_writer/ranks:2 p50_ns "$8" ', "writer_refaults": 1')
]}
JSON
}
rtt() { echo "{\"benchmarks\": [{\"name\": \"BM_LoopbackTcpRtt/manual_time\", \"median_ns\": $2}]}" >"$1/${3:-rtt}.json"; }
bench "$t/dmfs" 1500 4 6 300 600 2000 150
bench "$t/nfs" 1000 4 3 600 1 1 1
rtt "$t/dmfs" 100
rtt "$t/nfs" 200
/usr/bin/python3 "$here/bench-ratios.py" "$t" >/dev/null
/usr/bin/python3 - "$t/ratios.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
want = {"uncached_fault_vs_nfs": 1.5, "cached_fault_vs_nfs": 1.0, "mkwrite_vs_nfs": 2.0,
        "seq_mapped_read_vs_nfs": 0.5, "revoke_1_page_rtt": 6.0, "revoke_64_pages_rtt": 20.0,
        "stat_of_remote_writer_rtt": 1.5}
for k, v in want.items():
    assert r[k] == v, (k, r[k], v)
    assert r["ratios"][k] == v
t = r["targets"]
assert not t["uncached_fault_vs_nfs"]["met"] and not t["seq_mapped_read_vs_nfs"]["met"]
assert not t["revoke_1_page_rtt"]["met"] and not t["revoke_64_pages_rtt"]["met"]
assert t["stat_of_remote_writer_rtt"]["met"]
assert r["raw"]["stat_of_remote_writer_rtt"]["writer_refaults"] == 1
assert r["rtt_ns"] == {"dmfs": 100, "nfs": 200} and not r["missing"]
print("ok: 7 ratios and 5 targets")
PY
# the table for docs/kmod.md: every ratio a row, unmet targets in bold
md=$(/usr/bin/python3 "$here/bench-ratios.py" "$t" --markdown)
[ "$(grep -c '^| `' <<<"$md")" = 7 ] || { echo "FAIL: table rows"; echo "$md"; exit 1; }
grep -q '^| `revoke_1_page_rtt` | 600 ns | – | 6.0 | <= 5.0 | \*\*no\*\* |$' <<<"$md" ||
  { echo "FAIL: revoke row"; echo "$md"; exit 1; }
echo "ok: the markdown table"
# round trips within STEADY_FACTOR (100 and 200 ns): steady; one measured
# after the benchmarks at 5 times the other boot's: not steady, and said
/usr/bin/python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["steady"] is True' "$t/ratios.json" ||
  { echo "FAIL: steady round trips judged unsteady"; exit 1; }
rtt "$t/dmfs" 500 rtt-after
rtt "$t/nfs" 100 rtt-after
md=$(/usr/bin/python3 "$here/bench-ratios.py" "$t" --markdown)
/usr/bin/python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); assert r["steady"] is False and r["rtt_after_ns"] == {"dmfs": 500, "nfs": 100}, r' "$t/ratios.json" ||
  { echo "FAIL: a round trip 5 times another judged steady"; exit 1; }
grep -q '^\*\*Not steady\*\*' <<<"$md" || { echo "FAIL: table does not say not steady"; echo "$md"; exit 1; }
echo "ok: an unsteady run is named"
# a measurement missing from one boot: named, exit 1
grep -v mkwrite "$t/nfs/bench.json" >"$t/b" && mv "$t/b" "$t/nfs/bench.json"
if /usr/bin/python3 "$here/bench-ratios.py" "$t" >"$t/out"; then echo "FAIL: missing mkwrite accepted"; exit 1; fi
grep -q '"mkwrite_vs_nfs"' "$t/out" || { echo "FAIL: missing ratio not named"; exit 1; }
echo "ok: a missing measurement fails"
# a boot still writing its results (or one that died): a clear error, exit 1
head -c 100 "$t/dmfs/bench.json" >"$t/b" && mv "$t/b" "$t/dmfs/bench.json"
if /usr/bin/python3 "$here/bench-ratios.py" "$t" >"$t/out" 2>"$t/err"; then echo "FAIL: truncated bench.json accepted"; exit 1; fi
grep -q "^bench-ratios: cannot read $t/dmfs/bench.json" "$t/err" || { echo "FAIL: no clear error"; cat "$t/err"; exit 1; }
grep -q Traceback "$t/err" && { echo "FAIL: a traceback"; exit 1; }
echo "ok: an unfinished boot's results are named"
