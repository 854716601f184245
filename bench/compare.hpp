// Comparing two Google Benchmark JSON outputs: the regression gate.
//
// For each benchmark present in both, the repetitions of one metric are
// compared: change of the medians, a two-sided Mann–Whitney U test over the
// repetitions (as compare.py does), and a verdict. A regression is a change
// for the worse beyond the threshold that the test finds significant — or,
// when there are too few repetitions for any test to reach significance,
// beyond the threshold alone (reported as "untested", never silently).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dmmap/json.hpp"

namespace dmmap::bench {

// The repetitions of every benchmark in a file, for one metric.
using Samples = std::map<std::string, std::vector<double>>;

// metric: "real_time" (converted to ns) or a counter name. Aggregate rows
// (mean/median/stddev) and rows with errors are skipped. Throws
// std::runtime_error when the document is not Google Benchmark output.
Samples load_samples(const Json& document, const std::string& metric);

// Counters measured as rates ("..._per_second") are better when larger.
bool higher_is_better(const std::string& metric);

struct CompareOptions {
  std::string metric = "real_time";
  double threshold = 0.05;  // fraction: 0.05 is 5%
  double alpha = 0.05;
};

struct Comparison {
  std::string name;
  double old_median = 0, new_median = 0;
  double change = 0;              // new/old - 1 of the metric itself (signed)
  double worse_by = 0;            // how much worse, as a fraction (negative: better)
  std::optional<double> p_value;  // nothing when the sample sizes cannot reach alpha
  std::size_t old_n = 0, new_n = 0;
  enum class Verdict { same, improvement, regression } verdict = Verdict::same;
};

struct CompareReport {
  std::vector<Comparison> rows;
  std::vector<std::string> only_old, only_new;
  double geomean_ratio = 1;  // geometric mean of new/old "cost" ratios (>1: worse)
  bool any_regression() const;
};

CompareReport compare(const Samples& old_runs, const Samples& new_runs, const CompareOptions& options);
std::string format_report(const CompareReport& report, const CompareOptions& options);

// "5%", "5" (both percent) -> 0.05; throws std::invalid_argument.
double parse_threshold(const std::string& text);

}  // namespace dmmap::bench
