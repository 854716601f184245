#include "seal.hpp"

#include <fmt/format.h>

#include "manifest.hpp"
#include "report_html.hpp"

namespace fs = std::filesystem;

namespace dmmap::certify {
namespace {

// The profile as named and as the checks used it, and the copy of a profile file.
Json profile_facts(const SealInput& in) {
  Json p = Json::object();
  const std::string& named = in.config.profile;
  p["name"] = in.profile.declared.name;
  p["applied"] = true;
  p["chosen_by"] = in.profile.declared.chosen_by;
  p["description"] = in.profile.describe();
  if (!named.empty() && fs::is_regular_file(named)) {
    const std::string copy = "profile/" + fs::path(named).filename().string();
    in.dir.write(copy, read_text(named));
    p["file"] = copy;
  }
  return p;
}

std::string bench_status_text(const SealInput& in) {
  if (in.bench_status != 0) return "failed (see logs/rank-0.log and the job's stderr)";
  return fs::exists(in.dir.path() / "bench.json") ? "measured" : "no benchmark selected";
}

Json run_facts(const SealInput& in, const Json& conformance) {
  Json f = Json::object();
  f["suite"] = "dmmap-certify";
  f["version"] = DMMAP_VERSION;
  f["created"] = in.dir.created();
  f["host"] = in.environment.at("ranks").as_array().at(0).at("hostname").as_string();
  f["config"] = Json::Object{
      {"given", "config.ini"}, {"resolved", "config.resolved.ini"}, {"source", fs::absolute(in.config_path).string()}};
  f["control_run"] = !in.clients.multi_client();
  f["verdict"] = conformance.at("verdict").as_string();
  f["expected"] = conformance.at("expected").as_string();
  f["ranks"] = conformance.at("ranks").as_number();
  f["clients"] = in.clients.to_json(in.environment);
  f["profile"] = profile_facts(in);
  f["exit_status"] = in.conform_status != 0 ? in.conform_status : in.bench_status;
  f["bench_status"] = bench_status_text(in);
  f["conformance"] = "conformance.json";
  if (fs::exists(in.dir.path() / "bench.json")) f["benchmarks"] = "bench.json";
  f["report"] = "report.html";
  f["summary"] = "summary.md";
  f["junit"] = "junit.xml";
  Json logs = Json::array();
  for (std::size_t r = 0; r < in.rank_logs.size(); ++r) logs.push_back(fmt::format("logs/rank-{}.log", r));
  f["logs"] = std::move(logs);
  return f;
}

}  // namespace

fs::path seal(const SealInput& in) {
  const fs::path dir = in.dir.path();
  in.dir.write("config.ini", in.config_text);
  in.dir.write("config.resolved.ini", in.config.resolved);
  for (std::size_t r = 0; r < in.rank_logs.size(); ++r)
    in.dir.write(fmt::format("logs/rank-{}.log", r), in.rank_logs[r]);
  const Json conformance = Json::parse(read_text(dir / "conformance.json"));
  Json facts = run_facts(in, conformance);
  if (const std::string notice = control_run_notice(facts); !notice.empty())
    in.dir.write("summary.md", notice + "\n\n" + read_text(dir / "summary.md"));
  const Json bench = fs::exists(dir / "bench.json") ? Json::parse(read_text(dir / "bench.json")) : Json();
  in.dir.write("report.html", report_html(facts, conformance, bench));
  write_manifest(dir, std::move(facts));
  return in.dir.pack();
}

}  // namespace dmmap::certify
