#include "report_json.hpp"

#include <cmath>
#include <map>

namespace dmmap::bench {
namespace {

constexpr const char* kBlock = "read_fault/cached_block/";
constexpr const char* kPerOp = "read_fault/cached/";

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
  // Means over repetitions of each run name.
  std::map<std::string, std::pair<double, int>> per_op, block;
  for (const auto& row : doc.at("benchmarks").as_array()) {
    if (!is_iteration(row)) continue;
    const auto& name = row.at("name").as_string();
    if (name.rfind(kPerOp, 0) == 0) {
      auto& [sum, n] = per_op[name.substr(std::string(kPerOp).size())];
      sum += number_or(row, "iteration_mean_ns", 0);
      ++n;
    } else if (name.rfind(kBlock, 0) == 0) {
      auto& [sum, n] = block[name.substr(std::string(kBlock).size())];
      sum += number_or(row, "block_ns_per_op", 0);
      ++n;
    }
  }
  Json rows = Json::array();
  for (const auto& [suffix, op] : per_op) {
    auto it = block.find(suffix);
    if (it == block.end() || op.second == 0 || it->second.second == 0) continue;
    const double a = op.first / op.second, b = it->second.first / it->second.second;
    Json r = Json::object();
    r["measurement"] = "read_fault/cached/" + suffix;
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
