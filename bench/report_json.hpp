// Completing Google Benchmark's JSON output with what its format cannot carry.
#pragma once

#include "dmmap/json.hpp"
#include "run_log.hpp"

namespace dmmap::bench {

// Adds to `doc` (rank 0, after the run):
//  - each iteration row: "distribution" {count, min, max, mean, p50, p90, p99,
//    p99.9, cdf: [[ns, fraction], ...]} from the merged histogram of that run;
//    the internal run_id counter is removed from every row;
//  - context.dmmap_environment as a JSON object (it travels as a string
//    through benchmark::AddCustomContext);
//  - "dmmap_checks": per-operation vs block timing of the same loads.
void augment(Json& doc, const RunLog& log);

Json distribution_json(const Histogram& h);

// The per-operation / block agreement rows (also printed by dmmap-bench).
Json per_op_vs_block(const Json& doc);

}  // namespace dmmap::bench
