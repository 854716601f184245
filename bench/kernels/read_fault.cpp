// Read-fault latency: first load of each page of a fresh MAP_SHARED mapping.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"
#include "fault_mapping.hpp"
#include "kernels.hpp"
#include "timer.hpp"

namespace dmmap::bench {
namespace {

class ReadFault : public Kernel {
 public:
  ReadFault(bool cached, FaultShape shape) : cached_(cached), shape_(shape) {}

  void setup(RunContext& ctx) override {
    const std::size_t bytes = shape_.pages * page_size();
    ctx.step([&] {
      own_ = ctx.file(fmt::format("read-{}", ctx.rank()));
      own_fd_ = create_file(own_, bytes, static_cast<std::uint8_t>(ctx.rank() + 1));
      cleanup_ = std::make_unique<Unlinker>(own_);
    });
    // Uncached: read what the next rank wrote (IOR's -C), through this view.
    ctx.step([&] {
      fd_ = cached_ ? open_file(own_, O_RDONLY)
                    : open_when_visible(ctx.file(fmt::format("read-{}", ctx.peer(1))), O_RDONLY);
    });
  }

  // Returns the whole iteration (fresh mapping, dropping the cache): that keeps
  // Google Benchmark's wall time near --benchmark_min_time. The latencies are
  // in the histogram. Cached per-load runs also do a block pass on another
  // fresh mapping in the same iteration, alternating the order, so the two
  // timings see the same machine conditions (others' load drifts over minutes).
  std::uint64_t iteration(RunContext& ctx) override {
    const auto begin = now_ns();
    if (!cached_) drop_cached(fd_.get());
    const bool paired = cached_ && !shape_.batch;
    const bool block_first = paired && (++iterations_ % 2 == 0);
    if (block_first) block_pass();
    {
      FaultMapping map(fd_.get(), shape_.pages, PROT_READ, shape_.fault_around);
      touch(map, ctx.shared.correction_ns, shape_.batch);
    }
    if (paired && !block_first) block_pass();
    return now_ns() - begin;
  }

  void add_counters(RunContext& ctx, benchmark::State& state) override {
    // Medians over iterations (and ranks) of the mean per load: robust to a
    // preempted iteration, and comparable between per-load and block timing.
    if (auto m = median(ctx.world().allgather(iteration_means_, "gather of iteration means")))
      state.counters[shape_.batch ? "block_ns_per_op" : "iteration_mean_ns"] = *m;
    if (auto m = median(ctx.world().allgather(block_means_, "gather of block means")))
      state.counters["block_ns_per_op"] = *m;
  }

 private:
  static std::optional<double> median(std::vector<double> v) {
    if (v.empty()) return std::nullopt;
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
  }

  // The same loads on another fresh mapping with one timer; only its mean is kept.
  void block_pass() {
    FaultMapping map(fd_.get(), shape_.pages, PROT_READ, shape_.fault_around);
    unsigned sink = 0;
    const auto start = now_ns();
    for (std::size_t i = 0; i < shape_.pages; ++i) sink += *map.page(i);
    const auto elapsed = now_ns() - start;
    benchmark::DoNotOptimize(sink);
    block_means_.push_back(static_cast<double>(elapsed) / static_cast<double>(shape_.pages));
  }

  void touch(const FaultMapping& map, double correction_ns, bool batch) {
    unsigned sink = 0;
    std::uint64_t timed = 0;
    const auto before = thread_faults();
    const auto start = now_ns();
    if (batch) {
      for (std::size_t i = 0; i < shape_.pages; ++i) sink += *map.page(i);
    } else {
      for (std::size_t i = 0; i < shape_.pages; ++i) {
        const auto t0 = now_ns();
        sink += *map.page(i);
        const auto t = now_ns() - t0;
        record(t, correction_ns);
        timed += t > correction_ns ? t - static_cast<std::uint64_t>(correction_ns) : 0;
      }
    }
    const auto elapsed = now_ns() - start;
    faults += thread_faults() - before;
    benchmark::DoNotOptimize(sink);
    // Block mode has no per-load figure: each load gets the block's average,
    // so the distribution is one of block averages and its sum stays exact.
    if (batch) {
      for (std::size_t i = 0; i < shape_.pages; ++i) latency.record(elapsed / shape_.pages);
      timed = elapsed;
    }
    iteration_means_.push_back(static_cast<double>(timed) / static_cast<double>(shape_.pages));
    ops += shape_.pages;
  }

 public:
 private:
  bool cached_;
  FaultShape shape_;
  std::filesystem::path own_;
  Fd own_fd_, fd_;
  std::unique_ptr<Unlinker> cleanup_;
  std::vector<double> iteration_means_;  // one per iteration: mean ns per load
  std::vector<double> block_means_;      // the paired block passes
  unsigned iterations_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_read_fault(bool cached, const FaultShape& shape) {
  return std::make_unique<ReadFault>(cached, shape);
}

}  // namespace dmmap::bench
