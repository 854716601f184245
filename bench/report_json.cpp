#include "report_json.hpp"

#include <array>
#include <cmath>
#include <map>

namespace dmmap::bench {
namespace {

Json without_run_id(const Json& row) {
  Json out = Json::object();
  for (const auto& [key, value] : row.as_object())
    if (key != "run_id") out[key] = value;
  return out;
}

double number_or(const Json& row, const char* key, double fallback) {
  const auto* v = row.find(key);
  return v && v->is_number() ? v->as_number() : fallback;
}

bool is_iteration(const Json& row) {
  const auto* type = row.find("run_type");
  const auto* error = row.find("error_occurred");
  return (!type || type->as_string() == "iteration") && !(error && error->as_bool());
}

}  // namespace

Json distribution_json(const Histogram& h) {
  Json d = Json::object();
  d["unit"] = "ns";
  d["count"] = h.count();
  d["min"] = h.min();
  d["max"] = h.max();
  d["mean"] = h.mean();
  d["p50"] = h.percentile(0.5);
  d["p90"] = h.percentile(0.9);
  d["p99"] = h.percentile(0.99);
  d["p99.9"] = h.percentile(0.999);
  Json cdf = Json::array();
  for (const auto& p : h.cdf()) cdf.push_back(Json(Json::Array{p.value, p.fraction}));
  d["cdf"] = std::move(cdf);
  return d;
}

Json per_op_vs_block(const Json& doc) {
  // Both figures come from the same rows (paired passes); means over repetitions.
  std::map<std::string, std::array<double, 3>> pairs;  // per-op sum, block sum, rows
  for (const auto& row : doc.at("benchmarks").as_array()) {
    if (!is_iteration(row) || !row.contains("iteration_mean_ns") || !row.contains("block_ns_per_op")) continue;
    auto& p = pairs[row.at("name").as_string()];
    p[0] += number_or(row, "iteration_mean_ns", 0);
    p[1] += number_or(row, "block_ns_per_op", 0);
    p[2] += 1;
  }
  Json rows = Json::array();
  for (const auto& [name, p] : pairs) {
    const double a = p[0] / p[2], b = p[1] / p[2];
    Json r = Json::object();
    r["measurement"] = name;
    r["per_op_mean_ns"] = a;
    r["block_ns_per_op"] = b;
    r["difference_pct"] = b > 0 ? (a / b - 1) * 100 : 0.0;
    r["within_5pct"] = b > 0 && std::abs(a / b - 1) <= 0.05;
    rows.push_back(std::move(r));
  }
  return rows;
}

void augment(Json& doc, const RunLog& log) {
  auto& rows = doc["benchmarks"].as_array();
  for (auto& row : rows) {
    const auto* id = row.find("run_id");
    const Histogram* h = id && id->is_number() && is_iteration(row) ? log.find(static_cast<unsigned>(id->as_number()))
                                                                    : nullptr;
    Json clean = without_run_id(row);
    if (h) clean["distribution"] = distribution_json(*h);
    row = std::move(clean);
  }
  auto& context = doc["context"];
  if (const auto* env = context.find("dmmap_environment"); env && env->is_string())
    context["dmmap_environment"] = Json::parse(env->as_string());
  doc["dmmap_checks"]["per_op_vs_block"] = per_op_vs_block(doc);
}

}  // namespace dmmap::bench
