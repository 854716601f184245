// Checks a dmmap-bench JSON output: every measurement family present, every
// iteration row with a non-empty distribution and ordered percentiles, the
// environment in the context. Used by the integration tests.
// Usage: dmmap_bench_check_output FILE.json EXPECTED_RANKS [HTML]
#include <fmt/format.h>

#include <fstream>
#include <set>
#include <sstream>

#include "dmmap/json.hpp"

namespace {

using dmmap::Json;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void require(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what);
}

void check_row(const Json& row, std::set<std::string>& families, std::set<int>& ranks) {
  const auto& name = row.at("name").as_string();
  if (const auto* e = row.find("error_occurred"); e && e->as_bool())
    throw std::runtime_error(name + " failed: " + row.at("error_message").as_string());
  const auto* d = row.find("distribution");
  require(d, name + " has no distribution");
  require(d->at("count").as_number() > 0, name + ": empty distribution");
  const double p50 = d->at("p50").as_number(), p90 = d->at("p90").as_number(), p99 = d->at("p99").as_number(),
               p999 = d->at("p99.9").as_number(), max = d->at("max").as_number();
  require(p50 <= p90 && p90 <= p99 && p99 <= p999 && p999 <= max, name + ": percentiles out of order");
  require(!d->at("cdf").as_array().empty(), name + ": no CDF points");
  require(row.contains("p50_ns") && row.contains("p99_ns") && row.contains("mean_ns"), name + ": counters missing");
  require(!row.contains("run_id"), name + ": internal run_id left in the output");
  families.insert(name.substr(0, name.find('/', name.find('/') + 1)));
  ranks.insert(static_cast<int>(row.at("ranks").as_number()));
}

}  // namespace

int main(int argc, char** argv) {
  try {
    require(argc >= 3, "usage: dmmap_bench_check_output FILE.json EXPECTED_RANKS [HTML]");
    const Json doc = Json::parse(slurp(argv[1]));
    const int job = std::stoi(argv[2]);
    const auto& env = doc.at("context").at("dmmap_environment");
    require(env.is_object(), "context.dmmap_environment is not an object");
    require(doc.at("context").contains("dmmap_timer_read_ns"), "timer cost missing from the context");
    std::set<std::string> families;
    std::set<int> ranks;
    for (const auto& row : doc.at("benchmarks").as_array())
      if (!row.contains("run_type") || row.at("run_type").as_string() == "iteration") check_row(row, families, ranks);
    for (const char* f : {"read_fault/cached", "read_fault/uncached", "write_fault/mkwrite", "write_fault/uncached",
                          "revocation/dirty:1", "stat/remote_writer", "throughput/write", "throughput/read",
                          "throughput/readback", "exec/launch"})
      require(families.contains(f), fmt::format("measurement {} missing", f));
    require(ranks.contains(1) && ranks.contains(job), fmt::format("scaling rows for 1 and {} ranks missing", job));
    require(!doc.at("dmmap_checks").at("per_op_vs_block").as_array().empty(), "per-op vs block check missing");
    if (argc > 3) {
      const auto html = slurp(argv[3]);
      require(html.find("<svg") != std::string::npos, "HTML report has no chart");
      require(html.find("exec/launch") != std::string::npos, "HTML report lacks the exec measurement");
    }
    fmt::print("ok: {} measurement families, rank counts up to {}\n", families.size(), *ranks.rbegin());
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "check failed: {}\n", e.what());
    return 1;
  }
}
