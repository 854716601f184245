// The certification report: one self-contained HTML file (inline SVG charts
// drawn here, no script, no other file) with, in order: the control-run
// notice as its first line when the run had one client, the verdict and the
// verdict table of the conformance catalog, the benchmarks (results, latency
// CDFs, scaling, revocation growth), and the environment per rank and view.
#pragma once

#include <string>

#include "dmmap/json.hpp"

namespace dmmap::certify {

// `facts`: result.json's fields (without the file list); `conformance`:
// conformance.json; `bench`: the benchmark JSON, or null when there is none.
std::string report_html(const Json& facts, const Json& conformance, const Json& bench);

// The notice a control run's reports start with ("" for a multi-client run).
std::string control_run_notice(const Json& facts);

}  // namespace dmmap::certify
