// dmmap-bench: what a filesystem's mmap path costs, as distributions, across
// MPI ranks. See docs/bench.md.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <optional>

#include "bench_options.hpp"
#include "binding.hpp"
#include "dmmap/environment.hpp"
#include "dmmap/exit_status.hpp"
#include "dmmap/mpi_session.hpp"
#include "dmmap/sync.hpp"
#include "guard.hpp"
#include "registry.hpp"
#include "session.hpp"

namespace {

using namespace dmmap;
using namespace dmmap::bench;

using exit_status::kUsage;

constexpr const char* kBenchmarkFlags =
    "\nGoogle Benchmark flags (passed through; note the = form):\n"
    "  --benchmark_filter=REGEX        run only the matching measurements (--benchmark_list_tests lists them)\n"
    "  --benchmark_min_time=SECONDS    measured time per benchmark before it reports (default 0.5)\n"
    "  --benchmark_repetitions=N       repeat each benchmark N times (dmmap-compare wants 9 or more)\n"
    "  --benchmark_out=FILE            JSON output with distributions and environment\n"
    "\nExample:\n  mpirun -np 4 dmmap-bench --dirs /mnt/a,/mnt/b --benchmark_out=run.json --html run.html\n";

// Google Benchmark's own flags for this rank: only rank 0 writes the output
// file (the others would truncate it); rank 0 gets one when only HTML was asked.
// The filter is noted to count what will run.
std::string prepare_benchmark_flags(int& argc, char** argv, bool root, const std::string& html, std::string& filter,
                                    std::vector<std::string>& storage, std::vector<char*>& out) {
  std::string json_path;
  out.assign(argv, argv + argc);
  for (auto it = out.begin() + 1; it != out.end();) {
    const std::string arg = *it;
    if (arg.rfind("--benchmark_out=", 0) == 0) json_path = arg.substr(16);
    if (arg.rfind("--benchmark_filter=", 0) == 0) filter = arg.substr(19);
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

int run(MpiSession& session, CommandLine& line, int argc, char** argv) {
  auto& settings = line.settings;
  const bool root = session.is_root();
  std::vector<std::string> storage;
  std::vector<char*> bm_argv;
  storage.reserve(1);
  const auto json_path = prepare_benchmark_flags(argc, argv, root, settings.html, settings.filter, storage, bm_argv);
  benchmark::Initialize(&argc, bm_argv.data());
  if (benchmark::ReportUnrecognizedArguments(argc, bm_argv.data())) return kUsage;

  try {
    require_selection(settings, session.size());
  } catch (const UsageError& e) {
    if (root) fmt::print(stderr, "dmmap-bench: {}\n", e.what());
    return kUsage;
  }
  session.join(settings.timeout);
  Sync sync(session.comm(), settings.timeout);
  const auto binding = bind_rank(session.comm(), settings.bind, settings.timeout);
  std::optional<ScratchArea> scratch;
  try {
    scratch.emplace(sync, settings.target, settings.keep);
  } catch (const TargetError& e) {
    if (root) fmt::print(stderr, "dmmap-bench: {}\n", e.what());
    return kUsage;
  }
  sync.begin_phase("environment");
  const Json environment = gather_environment(sync, scratch->view());
  sync.finish_phase({});
  RunLog log(root);
  return run_session(session, sync, settings, scratch->path(), environment, binding, {json_path, settings.html}, log);
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
