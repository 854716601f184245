// dmmap-compare OLD.json NEW.json [--threshold 5%]: the CI regression gate.
// Exit status: 0 no significant regression, 1 regression, 2 usage or input error.
#include <fmt/format.h>

#include <fstream>
#include <set>
#include <sstream>

#include "compare.hpp"
#include "dmmap/exit_status.hpp"
#include "dmmap/options.hpp"

namespace {

using namespace dmmap;
using namespace dmmap::bench;

constexpr int kRegression = exit_status::kFailed;
constexpr int kUsage = exit_status::kUsage;

Json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("cannot read {}", path));
  std::stringstream text;
  text << in.rdbuf();
  try {
    return Json::parse(text.str());
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("{}: {}", path, e.what()));
  }
}

// OptionParser has no positional arguments: take OLD and NEW out first,
// skipping the values of the options that take one.
std::vector<std::string> take_positionals(int& argc, char** argv, const std::set<std::string>& valued) {
  std::vector<std::string> positionals;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("-", 0) == 0) {
      argv[out++] = argv[i];
      if (valued.contains(arg) && i + 1 < argc) argv[out++] = argv[++i];
    } else {
      positionals.push_back(arg);
    }
  }
  argc = out;
  argv[argc] = nullptr;
  return positionals;
}

}  // namespace

int main(int argc, char** argv) {
  CompareOptions options;
  bool help = false;
  OptionParser parser("dmmap-compare", "OLD.json NEW.json [options]");
  parser.section("Compares two dmmap-bench (Google Benchmark) JSON outputs; exits 1 on a significant regression")
      .value("--threshold", "PCT", "smallest change for the worse that fails the gate (default 5%)",
             [&](const std::string& v) { options.threshold = parse_threshold(v); })
      .value("--metric", "NAME", "real_time (default), or a counter such as p99_ns or bytes_per_second",
             [&](const std::string& v) { options.metric = v; })
      .value("--alpha", "P", "significance level of the Mann-Whitney U test (default 0.05)",
             [&](const std::string& v) {
               std::size_t used = 0;
               try {
                 options.alpha = std::stod(v, &used);
               } catch (const std::exception&) {
               }
               if (used != v.size() || !(options.alpha > 0 && options.alpha < 1))
                 throw UsageError(fmt::format("--alpha wants a probability in (0,1), not '{}'", v));
             })
      .flag("--help", "this text", [&] { help = true; });
  try {
    auto files = take_positionals(argc, argv, {"--threshold", "--metric", "--alpha"});
    parser.parse(argc, argv);
    if (help) {
      fmt::print("{}", parser.help());
      return 0;
    }
    if (files.size() != 2) throw UsageError("expected two files: OLD.json NEW.json (see --help)");
    const auto old_runs = load_samples(read_json(files[0]), options.metric);
    const auto new_runs = load_samples(read_json(files[1]), options.metric);
    const auto report = compare(old_runs, new_runs, options);
    if (report.rows.empty())
      throw std::runtime_error(fmt::format("no benchmark with metric '{}' appears in both files", options.metric));
    fmt::print("{}", format_report(report, options));
    return report.any_regression() ? kRegression : 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "dmmap-compare: {}\n", e.what());
    return kUsage;
  }
}
