#include "bench_options.hpp"

#include <fmt/format.h>

#include <unistd.h>

#include <cctype>
#include <sstream>

#include "dmmap/probe/mapping.hpp"

namespace dmmap::bench {
namespace {

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) items.push_back(item);
  if (items.empty()) throw UsageError(fmt::format("empty list '{}'", text));
  return items;
}

template <typename T, typename Parse>
std::vector<T> parse_list(const std::string& text, Parse parse) {
  std::vector<T> values;
  for (const auto& item : split(text)) values.push_back(parse(item));
  return values;
}

std::size_t positive(const std::string& text, const std::string& what) {
  const auto n = parse_count(text, what);
  if (n == 0) throw UsageError(fmt::format("{} must be positive", what));
  return static_cast<std::size_t>(n);
}

}  // namespace

std::size_t parse_size(const std::string& text) {
  std::string digits = text;
  std::size_t scale = 1;
  if (!digits.empty() && std::isalpha(static_cast<unsigned char>(digits.back()))) {
    switch (std::toupper(static_cast<unsigned char>(digits.back()))) {
      case 'K': scale = 1u << 10; break;
      case 'M': scale = 1u << 20; break;
      case 'G': scale = 1u << 30; break;
      default: throw UsageError(fmt::format("size '{}': unknown suffix (use K, M or G)", text));
    }
    digits.pop_back();
  }
  return positive(digits, fmt::format("size '{}'", text)) * scale;
}

OptionParser make_parser(CommandLine& line) {
  auto& s = line.settings;
  OptionParser parser("dmmap-bench", "(--dir PATH | --dirs P0,P1,...) [options] [--benchmark_* flags]");
  parser.section("Target (the same contract as dmmap-conform)")
      .value("--dir", "PATH", "directory every rank works in (a cluster filesystem mounted on every node)",
             [&](const std::string& v) {
               if (!s.target.empty()) throw UsageError("give either --dir or --dirs, once");
               s.target.views = {v};
             })
      .value("--dirs", "P0,P1,...", "rank i uses P[i mod n]: several mounts on one node standing in for nodes",
             [&](const std::string& v) {
               if (!s.target.empty()) throw UsageError("give either --dir or --dirs, once");
               s.target = TargetSpec::parse_dirs(v);
               if (s.target.empty()) throw UsageError("--dirs needs at least one directory");
             })
      .section("What to measure (names: see --benchmark_list_tests; select with --benchmark_filter=REGEX)")
      .value("--ranks", "N,...", "rank counts to measure (default 1, 2, 4, ... and all ranks)",
             [&](const std::string& v) {
               s.rank_counts = parse_list<int>(
                   v, [](const std::string& x) { return static_cast<int>(positive(x, "--ranks entry")); });
             })
      .value("--pages", "N,...", "pages per rank in the fault measurements (default 256)",
             [&](const std::string& v) {
               s.pages = parse_list<std::size_t>(v, [](const std::string& x) { return positive(x, "--pages entry"); });
             })
      .value("--sizes", "BYTES,...", "bytes per rank in the throughput measurements, K/M/G suffixes (default 4M)",
             [&](const std::string& v) { s.sizes = parse_list<std::size_t>(v, parse_size); })
      .value("--dirty", "N,...", "pages the owner holds dirty in the revocation measurement (default 1,64,4096)",
             [&](const std::string& v) {
               s.dirty = parse_list<std::size_t>(v, [](const std::string& x) { return positive(x, "--dirty entry"); });
             })
      .value("--fault-around", "on,off",
             "measure faults with the kernel's fault-around (on) and/or one fault per page (off); default both",
             [&](const std::string& v) {
               s.fault_around = split(v);
               for (auto& m : s.fault_around)
                 if (m != "on" && m != "off") throw UsageError(fmt::format("--fault-around: '{}' is not on or off", m));
             })
      .value("--exec-binary", "PATH", "binary copied to the target for the launch storm (default /bin/true)",
             [&](const std::string& v) { s.exec_binary = v; })
      .section("Method")
      .value("--bind", "core|none", "pin each rank to a core with hwloc (default core)",
             [&](const std::string& v) {
               if (v != "core" && v != "none") throw UsageError(fmt::format("--bind wants core or none, not '{}'", v));
               s.bind = v;
             })
      .flag("--no-timer-correction", "keep the timer's own cost in per-operation latencies",
            [&] { s.timer_correction = false; })
      .value("--timeout", "DURATION", "longest wait for another rank before declaring a hang (default 120s)",
             [&](const std::string& v) { s.timeout = parse_duration(v); })
      .section("Output (console table always; JSON with --benchmark_out=FILE)")
      .value("--html", "FILE", "also write an HTML report with latency CDFs and scaling curves",
             [&](const std::string& v) { s.html = v; })
      .flag("--keep", "keep the scratch directory (default: removed at the end)", [&] { s.keep = true; })
      .flag("--help", "this text", [&] { line.help = true; });
  return parser;
}

void validate(const CommandLine& line) {
  const auto& s = line.settings;
  if (s.target.empty()) throw UsageError("no target: give --dir PATH or --dirs P0,P1,... (see --help)");
  for (auto bytes : s.sizes)
    if (bytes % page_size() != 0)
      throw UsageError(fmt::format("--sizes: {} is not a multiple of the page size ({})", bytes, page_size()));
  if (::access(s.exec_binary.c_str(), X_OK) != 0)
    throw UsageError(fmt::format("--exec-binary {} is not an executable file", s.exec_binary));
}

}  // namespace dmmap::bench
