#!/usr/bin/env python3
"""Writes the crafted Google Benchmark JSON files the dmmap-compare tests use.

Run once; the outputs are checked in so the tests do not depend on Python.
base: two benchmarks, 9 repetitions each, ~2% noise.
regression: read_fault 20% slower.  improvement: read_fault 20% faster.
noise: the same medians, fresh noise draws (no change to find)."""
import json, random

def doc(medians, seed, unit="ns"):
    rng = random.Random(seed)
    rows = []
    for name, median in medians.items():
        for rep in range(9):
            t = median * (1 + rng.uniform(-0.02, 0.02))
            rows.append({"name": name, "run_name": name, "run_type": "iteration", "repetitions": 9,
                         "repetition_index": rep, "threads": 1, "iterations": 100,
                         "real_time": t, "cpu_time": t, "time_unit": unit,
                         "p99_ns": t * 3, "bytes_per_second": 1e9 / t})
        rows.append({"name": name + "_mean", "run_name": name, "run_type": "aggregate",
                     "aggregate_name": "mean", "real_time": 1.0, "cpu_time": 1.0, "time_unit": unit})
    return {"context": {"date": "crafted"}, "benchmarks": rows}

base = {"read_fault/cached": 1000.0, "throughput/read": 50000.0}
files = {
    "base.json": doc(base, 1),
    "regression.json": doc({**base, "read_fault/cached": 1200.0}, 2),
    "improvement.json": doc({**base, "read_fault/cached": 800.0}, 3),
    "noise.json": doc(base, 4),
}
for name, content in files.items():
    with open(name, "w") as f:
        json.dump(content, f, indent=1)
