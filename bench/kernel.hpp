// A measurement kernel and the driver that runs it under Google Benchmark on
// every rank in lock step.
//
// Google Benchmark decides the iteration count from the measured time. Each
// iteration's time is the maximum over all ranks (MPI), set as manual time,
// so every rank sees the same times, takes the same decisions and runs the
// same number of iterations — and the reported time is the slowest rank's,
// which is what a parallel job waits for.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <functional>
#include <memory>

#include "faults.hpp"
#include "histogram.hpp"
#include "run_context.hpp"
#include "run_log.hpp"

namespace dmmap::bench {

class Kernel {
 public:
  virtual ~Kernel() = default;
  // Called on every rank (use ctx.step for work, so that failures agree).
  virtual void setup(RunContext&) {}
  // Called on active ranks once per iteration; returns the nanoseconds of
  // the work the iteration measures (set-up such as dropping caches excluded).
  virtual std::uint64_t iteration(RunContext& ctx) = 0;
  // Extra counters; called on every rank after the loop (collectives allowed).
  virtual void add_counters(RunContext&, benchmark::State&) {}

  // Samples of this rank: per operation, timer cost subtracted when enabled.
  void record(std::uint64_t raw_ns, double correction_ns) {
    const auto c = static_cast<std::uint64_t>(correction_ns);
    latency.record(raw_ns > c ? raw_ns - c : 0);
  }
  Histogram latency;
  FaultCount faults;        // taken during the timed work
  std::uint64_t ops = 0;    // operations (pages, stores, launches) in the timed work
  std::uint64_t bytes = 0;  // bytes moved by the timed work (throughput kernels)
};

using KernelFactory = std::function<std::unique_ptr<Kernel>()>;

// The body of every registered benchmark.
void run_kernel(benchmark::State& state, const Shared& shared, RunLog& log, const std::string& name, int active_ranks,
                const KernelFactory& make);

}  // namespace dmmap::bench
