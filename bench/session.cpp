#include "session.hpp"

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "dmmap/exit_status.hpp"
#include "html_report.hpp"
#include "registry.hpp"
#include "report_json.hpp"
#include "reporters.hpp"

namespace dmmap::bench {
namespace {

void add_context(const Shared& shared, const std::string& binding, const Json& environment) {
  benchmark::AddCustomContext("dmmap_version", DMMAP_VERSION);
  benchmark::AddCustomContext("dmmap_ranks", std::to_string(shared.size));
  benchmark::AddCustomContext("dmmap_bind", shared.settings.bind + ": rank 0 " + binding);
  benchmark::AddCustomContext("dmmap_timer", "clock_gettime(CLOCK_MONOTONIC)");
  benchmark::AddCustomContext("dmmap_timer_read_ns", fmt::format("{:.1f}", shared.timer.per_read_ns));
  benchmark::AddCustomContext("dmmap_timer_empty_interval_ns", fmt::format("{:.1f}", shared.timer.empty_interval_ns));
  benchmark::AddCustomContext("dmmap_timer_correction_ns", fmt::format("{:.1f}", shared.correction_ns));
  std::string dirs;
  for (const auto& v : shared.settings.target.views) dirs += (dirs.empty() ? "" : ",") + v.string();
  benchmark::AddCustomContext("dmmap_target", dirs);
  benchmark::AddCustomContext("dmmap_environment", environment.dump());
}

Json read_json(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return Json::parse(text.str());
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

// Rank 0, after the run: distributions into the JSON, the cross-check, HTML.
void finish_outputs(const std::string& json_path, const std::string& html, const RunLog& log) {
  if (json_path.empty()) return;
  Json doc = read_json(json_path);
  augment(doc, log);
  if (!html.empty() && json_path == html + ".json") {
    std::remove(json_path.c_str());  // only made for the HTML
  } else {
    write_file(json_path, doc.dump(1));
  }
  for (const auto& r : doc.at("dmmap_checks").at("per_op_vs_block").as_array())
    fmt::print(stderr, "[dmmap-bench] per-op vs block: {}: {:.1f} vs {:.1f} ns ({:+.1f}%)\n",
               r.at("measurement").as_string(), r.at("per_op_mean_ns").as_number(), r.at("block_ns_per_op").as_number(),
               r.at("difference_pct").as_number());
  if (!html.empty()) write_file(html, html_report(doc));
}

}  // namespace

int run_session(MpiSession& session, Sync& sync, const Settings& settings, const std::filesystem::path& scratch,
                const Json& environment, const std::string& binding, const SessionOutputs& outputs, RunLog& log) {
  const bool root = session.is_root();
  Shared shared{session.comm(), session.rank(), session.size(), scratch, {}, 0, settings};
  shared.timer = measure_timer_cost();
  shared.correction_ns = settings.timer_correction ? shared.timer.empty_interval_ns : 0;
  if (root) add_context(shared, binding, environment);

  log.set_total(register_benchmarks(shared, log));
  if (root) {
    ConsoleTable table;
    JsonFile file;
    benchmark::RunSpecifiedBenchmarks(&table, outputs.json_path.empty() ? nullptr : &file);
  } else {
    Silent silent;
    benchmark::RunSpecifiedBenchmarks(&silent);
  }
  benchmark::Shutdown();
  std::string failure;
  if (root) {
    try {
      finish_outputs(outputs.json_path, outputs.html, log);
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }
  sync.begin_phase("finish");
  const auto outcome = sync.finish_phase(failure);
  if (!outcome.at(0).empty()) {
    if (root) fmt::print(stderr, "dmmap-bench: {}\n", outcome.at(0));
    return exit_status::kFailed;
  }
  return 0;
}

}  // namespace dmmap::bench
