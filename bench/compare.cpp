#include "compare.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "mann_whitney.hpp"

namespace dmmap::bench {
namespace {

double to_ns(double value, const std::string& unit) {
  if (unit == "ns") return value;
  if (unit == "us") return value * 1e3;
  if (unit == "ms") return value * 1e6;
  if (unit == "s") return value * 1e9;
  throw std::runtime_error("unknown time_unit '" + unit + "'");
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::optional<double> row_value(const Json& row, const std::string& metric) {
  if (metric == "real_time" || metric == "cpu_time") {
    const auto* unit = row.find("time_unit");
    return to_ns(row.at(metric).as_number(), unit ? unit->as_string() : "ns");
  }
  const auto* value = row.find(metric);
  if (!value || !value->is_number()) return std::nullopt;
  return value->as_number();
}

Comparison compare_one(const std::string& name, const std::vector<double>& old_v, const std::vector<double>& new_v,
                       const CompareOptions& options) {
  Comparison c;
  c.name = name;
  c.old_n = old_v.size();
  c.new_n = new_v.size();
  c.old_median = median(old_v);
  c.new_median = median(new_v);
  c.change = c.old_median != 0 ? c.new_median / c.old_median - 1 : 0;
  const double cost_ratio = higher_is_better(options.metric) ? (c.new_median != 0 ? c.old_median / c.new_median : 1)
                                                             : c.change + 1;
  c.worse_by = cost_ratio - 1;
  if (smallest_possible_p(c.old_n, c.new_n) <= options.alpha) c.p_value = mann_whitney_u(old_v, new_v).p_value;
  const bool significant = !c.p_value || *c.p_value < options.alpha;
  if (significant && c.worse_by > options.threshold) c.verdict = Comparison::Verdict::regression;
  if (significant && -c.worse_by > options.threshold) c.verdict = Comparison::Verdict::improvement;
  return c;
}

const char* verdict_name(Comparison::Verdict v) {
  switch (v) {
    case Comparison::Verdict::regression: return "REGRESSION";
    case Comparison::Verdict::improvement: return "improvement";
    case Comparison::Verdict::same: break;
  }
  return "same";
}

}  // namespace

bool higher_is_better(const std::string& metric) { return metric.size() > 11 && metric.ends_with("_per_second"); }

Samples load_samples(const Json& document, const std::string& metric) {
  const auto* benchmarks = document.find("benchmarks");
  if (!document.is_object() || !benchmarks || !benchmarks->is_array())
    throw std::runtime_error("not Google Benchmark JSON output (no \"benchmarks\" array)");
  Samples samples;
  for (const auto& row : benchmarks->as_array()) {
    const auto* type = row.find("run_type");
    if (type && type->as_string() != "iteration") continue;  // mean/median/stddev rows
    if (const auto* error = row.find("error_occurred"); error && error->as_bool()) continue;
    const auto* key = row.find("run_name");
    const auto& name = (key ? *key : row.at("name")).as_string();
    if (auto value = row_value(row, metric)) samples[name].push_back(*value);
  }
  return samples;
}

CompareReport compare(const Samples& old_runs, const Samples& new_runs, const CompareOptions& options) {
  CompareReport report;
  double log_sum = 0;
  for (const auto& [name, old_v] : old_runs) {
    auto it = new_runs.find(name);
    if (it == new_runs.end()) {
      report.only_old.push_back(name);
      continue;
    }
    report.rows.push_back(compare_one(name, old_v, it->second, options));
    log_sum += std::log1p(report.rows.back().worse_by);
  }
  for (const auto& [name, _] : new_runs)
    if (!old_runs.contains(name)) report.only_new.push_back(name);
  if (!report.rows.empty()) report.geomean_ratio = std::exp(log_sum / static_cast<double>(report.rows.size()));
  return report;
}

bool CompareReport::any_regression() const {
  return std::any_of(rows.begin(), rows.end(),
                     [](const Comparison& c) { return c.verdict == Comparison::Verdict::regression; });
}

std::string format_report(const CompareReport& report, const CompareOptions& options) {
  std::size_t width = 9;
  for (const auto& r : report.rows) width = std::max(width, r.name.size());
  std::string out = fmt::format("metric: {} ({} is better), threshold {:.1f}%, alpha {}\n", options.metric,
                                higher_is_better(options.metric) ? "higher" : "lower", options.threshold * 100,
                                options.alpha);
  out += fmt::format("{:<{}}  {:>14}  {:>14}  {:>9}  {:>5}  {:>8}  {}\n", "benchmark", width, "old (median)",
                     "new (median)", "change", "reps", "p-value", "verdict");
  bool untested = false;
  for (const auto& r : report.rows) {
    const std::string p = r.p_value ? fmt::format("{:.4f}", *r.p_value) : "untested";
    untested |= !r.p_value;
    out += fmt::format("{:<{}}  {:>14.6g}  {:>14.6g}  {:>+8.2f}%  {:>2}/{:<2}  {:>8}  {}\n", r.name, width,
                       r.old_median, r.new_median, r.change * 100, r.old_n, r.new_n, p, verdict_name(r.verdict));
  }
  for (const auto& n : report.only_old) out += fmt::format("only in OLD: {}\n", n);
  for (const auto& n : report.only_new) out += fmt::format("only in NEW: {}\n", n);
  out += fmt::format("geometric mean over {} benchmarks: {:+.2f}% ({})\n", report.rows.size(),
                     (report.geomean_ratio - 1) * 100, report.geomean_ratio > 1 ? "worse" : "better or equal");
  if (untested)
    out += "note: 'untested' rows have too few repetitions for the U test to reach alpha "
           "(use --benchmark_repetitions=9 or more); they are judged by the threshold alone\n";
  return out;
}

double parse_threshold(const std::string& text) {
  std::string number = text;
  if (!number.empty() && number.back() == '%') number.pop_back();
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(number, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != number.size() || !(value >= 0) || value > 1000)
    throw std::invalid_argument("--threshold wants a percentage such as 5% (got '" + text + "')");
  return value / 100;
}

}  // namespace dmmap::bench
