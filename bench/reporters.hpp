// Google Benchmark reporters: rank 0's console table, silence elsewhere.
#pragma once

#include <benchmark/benchmark.h>

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

// Ranks other than 0 run the same benchmarks but report nothing.
class Silent : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};

}  // namespace dmmap::bench
