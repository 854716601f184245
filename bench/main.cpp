// dmmap-bench: what a filesystem's mmap path costs, as distributions, across
// MPI ranks. See docs/bench.md.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "bench_options.hpp"
#include "binding.hpp"
#include "dmmap/environment.hpp"
#include "dmmap/exit_status.hpp"
#include "dmmap/mpi_session.hpp"
#include "dmmap/sync.hpp"
#include "guard.hpp"
#include "html_report.hpp"
#include "registry.hpp"
#include "report_json.hpp"
#include "reporters.hpp"

namespace {

using namespace dmmap;
using namespace dmmap::bench;

using exit_status::kUsage;
constexpr int kFailure = exit_status::kFailed;

constexpr const char* kBenchmarkFlags =
    "\nGoogle Benchmark flags (passed through; note the = form):\n"
    "  --benchmark_filter=REGEX        run only the matching measurements (--benchmark_list_tests lists them)\n"
    "  --benchmark_min_time=SECONDS    measured time per benchmark before it reports (default 0.5)\n"
    "  --benchmark_repetitions=N       repeat each benchmark N times (dmmap-compare wants 9 or more)\n"
    "  --benchmark_out=FILE            JSON output with distributions and environment\n"
    "\nExample:\n  mpirun -np 4 dmmap-bench --dirs /mnt/a,/mnt/b --benchmark_out=run.json --html run.html\n";

// Google Benchmark's own flags for this rank: only rank 0 writes the output
// file (the others would truncate it); rank 0 gets one when only HTML was asked.
std::string prepare_benchmark_flags(int& argc, char** argv, bool root, const std::string& html,
                                    std::vector<std::string>& storage, std::vector<char*>& out) {
  std::string json_path;
  out.assign(argv, argv + argc);
  for (auto it = out.begin() + 1; it != out.end();) {
    const std::string arg = *it;
    if (arg.rfind("--benchmark_out=", 0) == 0) json_path = arg.substr(16);
    if (!root && arg.rfind("--benchmark_out", 0) == 0) {
      it = out.erase(it);
    } else {
      ++it;
    }
  }
  if (root && json_path.empty() && !html.empty()) {
    json_path = html + ".json";
    storage.push_back("--benchmark_out=" + json_path);
    out.push_back(storage.back().data());
  }
  argc = static_cast<int>(out.size());
  out.push_back(nullptr);
  return json_path;
}

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

int run(MpiSession& session, CommandLine& line, int argc, char** argv) {
  auto& settings = line.settings;
  const bool root = session.is_root();
  std::vector<std::string> storage;
  std::vector<char*> bm_argv;
  storage.reserve(1);
  const auto json_path = prepare_benchmark_flags(argc, argv, root, settings.html, storage, bm_argv);
  benchmark::Initialize(&argc, bm_argv.data());
  if (benchmark::ReportUnrecognizedArguments(argc, bm_argv.data())) return kUsage;

  Sync sync(session.comm(), settings.timeout);
  Shared shared{session.comm(), session.rank(), session.size(), {}, {}, 0, settings};
  const auto binding = bind_rank(session.comm(), settings.bind);
  std::optional<ScratchArea> scratch;
  try {
    scratch.emplace(sync, settings.target, settings.keep);
  } catch (const TargetError& e) {
    if (root) fmt::print(stderr, "dmmap-bench: {}\n", e.what());
    return kUsage;
  }
  shared.scratch = scratch->path();
  shared.timer = measure_timer_cost();
  shared.correction_ns = settings.timer_correction ? shared.timer.empty_interval_ns : 0;
  sync.begin_phase("environment");
  const Json environment = gather_environment(sync, scratch->view());
  sync.finish_phase({});
  if (root) add_context(shared, binding, environment);

  RunLog log(root);
  log.set_total(register_benchmarks(shared, log));
  if (root) {
    ConsoleTable table;
    JsonFile file;
    benchmark::RunSpecifiedBenchmarks(&table, json_path.empty() ? nullptr : &file);
  } else {
    Silent silent;
    benchmark::RunSpecifiedBenchmarks(&silent);
  }
  benchmark::Shutdown();
  std::string failure;
  if (root) {
    try {
      finish_outputs(json_path, settings.html, log);
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }
  sync.begin_phase("finish");
  const auto outcome = sync.finish_phase(failure);
  if (!outcome.at(0).empty()) {
    if (root) fmt::print(stderr, "dmmap-bench: {}\n", outcome.at(0));
    return kFailure;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  MpiSession session(&argc, &argv);
  CommandLine line;
  const auto parser = make_parser(line);
  try {
    parser.parse(argc, argv, {"--benchmark_"});
    if (line.help) {
      if (session.is_root()) fmt::print("{}{}", parser.help(), kBenchmarkFlags);
      return 0;
    }
    validate(line);
  } catch (const std::exception& e) {
    if (session.is_root()) fmt::print(stderr, "dmmap-bench: {}\n", e.what());
    return kUsage;
  }
  return run_or_abort(session, [&] { return run(session, line, argc, argv); });
}
