// Google Benchmark reporters: rank 0's console table, silence elsewhere.
#pragma once

#include <benchmark/benchmark.h>

#include <cmath>

namespace dmmap::bench {

// The console table without the internal run_id counter.
class ConsoleTable : public benchmark::ConsoleReporter {
 public:
  using benchmark::ConsoleReporter::ConsoleReporter;
  void ReportRuns(const std::vector<Run>& runs) override {
    auto copy = runs;
    for (auto& run : copy) run.counters.erase("run_id");
    benchmark::ConsoleReporter::ReportRuns(copy);
  }
};

// The --benchmark_out file without non-finite counters. A statistic can be
// undefined — the coefficient of variation of a counter that is 0 in every
// repetition is 0/0 — and Google Benchmark would write it as NaN, which is not
// JSON: no reader (ours, jq, compare.py's strict peers) could load the file.
// An undefined statistic is left out of its row instead.
class JsonFile : public benchmark::JSONReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    auto copy = runs;
    for (auto& run : copy)
      std::erase_if(run.counters, [](const auto& counter) { return !std::isfinite(counter.second.value); });
    benchmark::JSONReporter::ReportRuns(copy);
  }
};

// Ranks other than 0 run the same benchmarks but report nothing.
class Silent : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};

}  // namespace dmmap::bench
