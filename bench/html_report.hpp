// The HTML report: one self-contained file (inline SVG, no script) with a
// latency CDF per measurement, scaling curves, the results table and the
// environment the numbers were measured on.
#pragma once

#include <string>

#include "dmmap/json.hpp"

namespace dmmap::bench {

// `doc`: dmmap-bench's augmented Google Benchmark JSON.
std::string html_report(const Json& doc);

}  // namespace dmmap::bench
