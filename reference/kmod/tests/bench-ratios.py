#!/usr/bin/python3
"""ratios.json of bench-compare.sh: dmfs against NFS and against the loopback
round trip, from the two boots' bench.json and rtt.json (p50 unless named).

usage: bench-ratios.py OUT_DIR [--markdown]
  reads OUT_DIR/{dmfs,nfs}/{bench,rtt}.json (and rtt-after.json, the round
  trip measured again after the benchmarks), writes OUT_DIR/ratios.json and
  prints it; --markdown prints docs/kmod.md's performance table instead

The round trips of both boots, before and after, are the same measurement
of one idle guest: when the largest is more than STEADY_FACTOR times the
smallest, the shared host slowed a boot down, "steady" is false and the
table says so; such figures are not to be compared.
"""
import json
import sys
from pathlib import Path

# ratio name -> (benchmark name prefix, statistic, against)
#   against "nfs": dmfs / NFS of the statistic; "rtt": dmfs / dmfs boot's RTT
RATIOS = {
    "uncached_fault_vs_nfs": ("read_fault/uncached/fault_around:off/", "p50_ns", "nfs"),
    "cached_fault_vs_nfs": ("read_fault/cached/fault_around:off/", "p50_ns", "nfs"),
    "mkwrite_vs_nfs": ("write_fault/mkwrite/fault_around:off/", "p50_ns", "nfs"),
    "seq_mapped_read_vs_nfs": ("throughput/readback/file_per_rank/", "bytes_per_second", "nfs"),
    "revoke_1_page_rtt": ("revocation/dirty:1/", "p50_ns", "rtt"),
    "revoke_64_pages_rtt": ("revocation/dirty:64/", "p50_ns", "rtt"),
    "stat_of_remote_writer_rtt": ("stat/remote_writer/", "p50_ns", "rtt"),
}
# how far apart the round trips may be for the figures to count as measured
# on a steady machine (an idle guest's medians stay well within it)
STEADY_FACTOR = 2.0

# where the issue sets a target (issue 16): ratio name -> (<= or >=, bound)
TARGETS = {
    "uncached_fault_vs_nfs": ("<=", 1.0),
    "seq_mapped_read_vs_nfs": (">=", 1.0),
    "revoke_1_page_rtt": ("<=", 5.0),
    "revoke_64_pages_rtt": ("<=", 10.0),
    "stat_of_remote_writer_rtt": ("<=", 3.0),
}


def rows(path):
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise SystemExit(f"bench-ratios: cannot read {path} ({e}): did that boot finish?")
    return [b for b in doc["benchmarks"] if b.get("run_type", "iteration") == "iteration"]


def find(bench, prefix, ranks=2):
    for b in bench:
        if b["name"].startswith(prefix) and f"/ranks:{ranks}/" in b["name"] + "/":
            return b
    return None


def rtt_ns(path):
    for b in rows(path):
        if b["name"].startswith("BM_LoopbackTcpRtt"):
            return b["median_ns"]
    raise SystemExit(f"bench-ratios: no LoopbackTcpRtt in {path}")


def steadiness(out):
    """Round trips after the benchmarks, per boot that measured one, and
    whether all round trips lie within STEADY_FACTOR of each other."""
    before = {t: rtt_ns(out / t / "rtt.json") for t in ("dmfs", "nfs")}
    after = {t: rtt_ns(out / t / "rtt-after.json") for t in ("dmfs", "nfs")
             if (out / t / "rtt-after.json").exists()}
    every = list(before.values()) + list(after.values())
    return after, max(every) <= STEADY_FACTOR * min(every)


def fmt_value(ns_or_bps, stat):
    if stat == "bytes_per_second":
        return f"{ns_or_bps / 2**20:.1f} MiB/s"
    if ns_or_bps >= 1e6:
        return f"{ns_or_bps / 1e6:.2f} ms"
    if ns_or_bps >= 1e3:
        return f"{ns_or_bps / 1e3:.1f} µs"
    return f"{ns_or_bps:.0f} ns"


def markdown(result):
    lines = [
        f"Loopback round trip (p50): {fmt_value(result['rtt_ns']['dmfs'], 'ns')} in the dmfs boot, "
        f"{fmt_value(result['rtt_ns']['nfs'], 'ns')} in the NFS boot.",
    ]
    if result["rtt_after_ns"]:
        lines[0] += " After the benchmarks: " + ", ".join(
            f"{fmt_value(v, 'ns')} ({t})" for t, v in result["rtt_after_ns"].items()) + "."
    if not result["steady"]:
        lines.append("")
        lines.append(f"**Not steady**: the round trips differ by more than {STEADY_FACTOR} times "
                     "(the host slowed a boot down); these figures are not to be compared.")
    lines += [
        "",
        "| ratio | dmfs | NFSv3 | value | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for key in RATIOS:
        raw = result["raw"].get(key)
        if raw is None:
            lines.append(f"| `{key}` | – | – | missing | | |")
            continue
        nfs = fmt_value(raw["nfs"], raw["statistic"]) if "nfs" in raw else "–"
        target = result["targets"].get(key)
        extra = ""
        if raw.get("writer_refaults") is not None:
            extra = f" (writer refaults {raw['writer_refaults']:.2f} a stat)"
        lines.append(
            f"| `{key}` | {fmt_value(raw['dmfs'], raw['statistic'])}{extra} | {nfs} | {result['ratios'][key]} | "
            f"{target['target'] if target else ''} | {('yes' if target['met'] else '**no**') if target else ''} |")
    return "\n".join(lines)


def main(out, as_markdown=False):
    bench = {t: rows(out / t / "bench.json") for t in ("dmfs", "nfs")}
    rtt = {t: rtt_ns(out / t / "rtt.json") for t in ("dmfs", "nfs")}
    after, steady = steadiness(out)
    result = {"rtt_ns": rtt, "rtt_after_ns": after, "steady": steady, "raw": {}, "ratios": {}, "targets": {},
              "missing": []}
    for key, (prefix, stat, against) in RATIOS.items():
        dmfs = find(bench["dmfs"], prefix)
        if dmfs is None or stat not in dmfs:
            result["missing"].append(key)
            continue
        raw = {"benchmark": dmfs["name"], "statistic": stat, "dmfs": dmfs[stat]}
        if against == "nfs":
            nfs = find(bench["nfs"], prefix)
            if nfs is None or not nfs.get(stat):
                result["missing"].append(key)
                continue
            raw["nfs"] = nfs[stat]
            value = dmfs[stat] / nfs[stat]
        else:
            raw["rtt_ns"] = rtt["dmfs"]
            value = dmfs[stat] / rtt["dmfs"]
        if key == "stat_of_remote_writer_rtt":
            raw["writer_refaults"] = dmfs.get("writer_refaults")
        result["raw"][key] = raw
        result["ratios"][key] = round(value, 3)
        if key in TARGETS:
            op, bound = TARGETS[key]
            met = value <= bound if op == "<=" else value >= bound
            result["targets"][key] = {"target": f"{op} {bound}", "met": met}
    # the flat keys the issue names, beside the structured ones
    result.update(result["ratios"])
    (out / "ratios.json").write_text(json.dumps(result, indent=1) + "\n")
    print(markdown(result) if as_markdown else json.dumps(result, indent=1))
    return 1 if result["missing"] else 0


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3) or (len(sys.argv) == 3 and sys.argv[2] != "--markdown"):
        raise SystemExit(__doc__)
    sys.exit(main(Path(sys.argv[1]), len(sys.argv) == 3))
