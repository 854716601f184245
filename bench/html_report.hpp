// The HTML report: one self-contained file (inline SVG, no script) with a
// latency CDF per measurement, scaling curves, the results table and the
// environment the numbers were measured on.
#pragma once

#include <string>

#include "dmmap/json.hpp"

namespace dmmap::bench {

// `doc`: dmmap-bench's augmented Google Benchmark JSON.
std::string html_report(const Json& doc);

// Parts of that page, for reports that embed the measurements (dmmap-certify):
// the results table, per-operation vs block timing, the latency CDFs and the
// scaling curves, each with its <h2>; and the page's <style> rules.
std::string html_sections(const Json& doc);
std::string html_style();
// The cost of revoking a client's lock over the pages it holds dirty (p50,
// p99, max against the dirty count); "" when the run measured fewer than two counts.
std::string revocation_growth_chart(const Json& doc);

}  // namespace dmmap::bench
