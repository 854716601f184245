#include "kernel.hpp"

#include <fmt/format.h>

#include "merge.hpp"

namespace dmmap::bench {
namespace {

// Runs the iterations; returns the first error (the same on every rank) or "".
std::string iterate(benchmark::State& state, RunContext& ctx, Kernel& kernel) {
  for (auto _ : state) {
    std::uint64_t ns = 0;
    std::string error;
    if (ctx.active) {
      try {
        ns = kernel.iteration(ctx);
      } catch (const std::exception& e) {
        error = e.what();
      }
    }
    // The error flag travels with the time: 1e30 s means "a rank failed".
    const double agreed = ctx.world().max(error.empty() ? static_cast<double>(ns) * 1e-9 : 1e30,
                                          "agreement on the iteration time");
    if (agreed >= 1e30) {
      try {
        ctx.agree(error);
      } catch (const RunFailed& e) {
        state.SkipWithError(e.what());
        return e.what();
      }
    }
    state.SetIterationTime(agreed);
  }
  return {};
}

void set_counters(benchmark::State& state, RunContext& ctx, Kernel& kernel, RunLog& log, unsigned run_id) {
  const auto all = merged(ctx.world(), kernel.latency);
  const auto ops = static_cast<double>(ctx.world().sum(kernel.ops, "sum of operations"));
  const auto minor = static_cast<double>(ctx.world().sum(kernel.faults.minor, "sum of minor faults"));
  const auto major = static_cast<double>(ctx.world().sum(kernel.faults.major, "sum of major faults"));
  auto& c = state.counters;
  c["p50_ns"] = all.percentile(0.50);
  c["p90_ns"] = all.percentile(0.90);
  c["p99_ns"] = all.percentile(0.99);
  c["p999_ns"] = all.percentile(0.999);
  c["max_ns"] = static_cast<double>(all.max());
  c["mean_ns"] = all.mean();
  c["samples"] = static_cast<double>(all.count());
  c["ranks"] = ctx.active_ranks;
  if (ops > 0) {
    c["faults_per_op"] = (minor + major) / ops;
    c["major_faults_per_op"] = major / ops;
  }
  // Per fault: the time of all timed operations over the faults they took.
  if (minor + major > 0) c["ns_per_fault"] = all.sum() / (minor + major);
  const auto bytes = static_cast<double>(ctx.world().sum(kernel.bytes, "sum of bytes"));
  if (bytes > 0) state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  c["run_id"] = run_id;
  kernel.add_counters(ctx, state);
  if (ctx.rank() == 0) log.store(run_id, all);
}

}  // namespace

void run_kernel(benchmark::State& state, const Shared& shared, RunLog& log, const std::string& name, int active_ranks,
                const KernelFactory& make) {
  const unsigned run_id = log.next_id();
  if (shared.rank == 0) log.progress(name, state.max_iterations);
  RunContext ctx(shared, active_ranks, run_id);
  auto kernel = make();
  try {
    kernel->setup(ctx);
  } catch (const RunFailed& e) {
    state.SkipWithError(e.what());  // before the loop: Google Benchmark then skips it
    return;
  }
  if (!iterate(state, ctx, *kernel).empty()) return;
  set_counters(state, ctx, *kernel, log, run_id);
}

}  // namespace dmmap::bench
