// Sequential mapped read and write throughput, file per rank or one shared
// file (each rank its own contiguous segment), and read-back of what the next
// rank wrote (IOR's -C: the reader's cache cannot hold the data).
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>

#include <cstring>

#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"
#include "kernels.hpp"
#include "timer.hpp"

namespace dmmap::bench {
namespace {

class Throughput : public Kernel {
 public:
  Throughput(Transfer transfer, Layout layout, std::size_t bytes)
      : transfer_(transfer), layout_(layout), bytes_(bytes) {}

  void setup(RunContext& ctx) override {
    const bool shared = layout_ == Layout::shared_file;
    auto path_of = [&](int rank) { return ctx.file(shared ? "tp-shared" : fmt::format("tp-{}", rank)); };
    ctx.step([&] {
      if (shared && ctx.rank() != 0) return;
      const auto path = path_of(ctx.rank());
      create_file(path, shared ? bytes_ * static_cast<std::size_t>(ctx.active_ranks) : bytes_,
                  static_cast<std::uint8_t>(ctx.rank() + 1));
      cleanup_ = std::make_unique<Unlinker>(path);
    });
    ctx.step([&] {
      const int source = transfer_ == Transfer::readback ? ctx.peer(1) : ctx.rank();
      own_ = open_when_visible(path_of(ctx.rank()), O_RDWR);
      source_ = open_when_visible(path_of(source), O_RDONLY);
      own_offset_ = shared ? static_cast<off_t>(bytes_) * ctx.rank() : 0;
      source_offset_ = shared ? static_cast<off_t>(bytes_) * source : 0;
    });
  }

  std::uint64_t iteration(RunContext& ctx) override {
    ++round_;
    if (transfer_ == Transfer::readback) {
      write_segment();  // untimed here: the data the peer will read back
      ctx.active_barrier();
      drop_cached(source_.get());
    }
    const auto before = thread_faults();
    const auto start = now_ns();
    std::uint64_t first = 0;
    if (transfer_ == Transfer::write) {
      write_segment();
    } else {
      first = read_segment();
    }
    const auto elapsed = now_ns() - start;
    faults += thread_faults() - before;
    if (transfer_ == Transfer::readback) {
      if (first != pattern(round_)) ++stale_;
      ctx.active_barrier();  // the peer must finish reading before the next write
    }
    latency.record(elapsed);  // one sample per transfer: stragglers show in the tail
    ops += 1;
    bytes += bytes_;
    return elapsed;
  }

  void add_counters(RunContext& ctx, benchmark::State& state) override {
    const auto per_rank = static_cast<double>(ctx.world().sum(bytes, "sum of bytes")) / ctx.active_ranks;
    state.counters["bytes_per_second_per_rank"] = benchmark::Counter(per_rank, benchmark::Counter::kIsRate);
    if (transfer_ == Transfer::readback)
      state.counters["stale_reads"] = static_cast<double>(ctx.world().sum(stale_, "sum of stale reads"));
  }

 private:
  static std::uint64_t pattern(unsigned round) { return 0x0101010101010101ull * (round & 0xff); }

  void write_segment() {
    Mapping map(own_.get(), bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, own_offset_);
    auto* words = reinterpret_cast<std::uint64_t*>(map.data());
    const auto value = pattern(round_);
    for (std::size_t i = 0; i < bytes_ / sizeof(std::uint64_t); ++i) words[i] = value;
    map.sync();  // the data reached the filesystem, not only this page cache
  }

  std::uint64_t read_segment() {
    Mapping map(source_.get(), bytes_, PROT_READ, MAP_SHARED, source_offset_);
    const auto* words = reinterpret_cast<const std::uint64_t*>(map.data());
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < bytes_ / sizeof(std::uint64_t); ++i) sum += words[i];
    benchmark::DoNotOptimize(sum);
    return words[0];
  }

  Transfer transfer_;
  Layout layout_;
  std::size_t bytes_;
  Fd own_, source_;
  off_t own_offset_ = 0, source_offset_ = 0;
  std::unique_ptr<Unlinker> cleanup_;
  unsigned round_ = 0;
  std::uint64_t stale_ = 0;
};

}  // namespace

const char* name_of(Transfer t) {
  switch (t) {
    case Transfer::read: return "read";
    case Transfer::write: return "write";
    case Transfer::readback: return "readback";
  }
  return "?";
}

const char* name_of(Layout l) { return l == Layout::shared_file ? "shared_file" : "file_per_rank"; }

std::unique_ptr<Kernel> make_throughput(Transfer transfer, Layout layout, std::size_t bytes) {
  return std::make_unique<Throughput>(transfer, layout, bytes);
}

}  // namespace dmmap::bench
