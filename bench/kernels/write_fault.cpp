// Write-fault latency: first store to each page of a MAP_SHARED mapping.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>

#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"
#include "fault_mapping.hpp"
#include "kernels.hpp"
#include "timer.hpp"

namespace dmmap::bench {
namespace {

class WriteFault : public Kernel {
 public:
  WriteFault(bool mkwrite, FaultShape shape) : mkwrite_(mkwrite), shape_(shape) {}

  void setup(RunContext& ctx) override {
    ctx.step([&] {
      const auto path = ctx.file(fmt::format("write-{}", ctx.rank()));
      fd_ = create_file(path, shape_.pages * page_size(), 0);
      cleanup_ = std::make_unique<Unlinker>(path);
    });
  }

  // Returns the whole iteration (see read_fault.cpp); latencies go to the histogram.
  std::uint64_t iteration(RunContext& ctx) override {
    const auto begin = now_ns();
    // Clean pages first: a filesystem that tracks dirtying (page_mkwrite,
    // writeback accounting) then maps them read-only on a read fault.
    if (mkwrite_) {
      if (::fdatasync(fd_.get()) != 0) throw std::system_error(errno, std::generic_category(), "fdatasync");
    } else {
      drop_cached(fd_.get());
    }
    {
      FaultMapping map(fd_.get(), shape_.pages, PROT_READ | PROT_WRITE, shape_.fault_around);
      if (mkwrite_) {
        unsigned sink = 0;
        for (std::size_t i = 0; i < shape_.pages; ++i) sink += *map.page(i);  // read-fault them in, untimed
        benchmark::DoNotOptimize(sink);
      }
      store(map, ctx.shared.correction_ns);
    }
    return now_ns() - begin;
  }

 private:
  void store(const FaultMapping& map, double correction_ns) {
    const auto value = static_cast<unsigned char>(++stores_);
    const auto before = thread_faults();
    const auto start = now_ns();
    if (shape_.batch) {
      for (std::size_t i = 0; i < shape_.pages; ++i) *map.page(i) = value;
    } else {
      for (std::size_t i = 0; i < shape_.pages; ++i) {
        const auto t0 = now_ns();
        *map.page(i) = value;
        record(now_ns() - t0, correction_ns);
      }
    }
    const auto elapsed = now_ns() - start;
    faults += thread_faults() - before;
    if (shape_.batch)
      for (std::size_t i = 0; i < shape_.pages; ++i) latency.record(elapsed / shape_.pages);
    ops += shape_.pages;
  }

  bool mkwrite_;
  FaultShape shape_;
  Fd fd_;
  std::unique_ptr<Unlinker> cleanup_;
  unsigned stores_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_write_fault(bool mkwrite, const FaultShape& shape) {
  return std::make_unique<WriteFault>(mkwrite, shape);
}

}  // namespace dmmap::bench
