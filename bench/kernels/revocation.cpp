// Revocation latency: the cost of storing to a page another client holds dirty.
//
// Ranks 0 and 1 map the same file (each through its own view). In each
// iteration, for each direction: the owner stores to pages [0, dirty) — page 0
// among them — and passes a token; the other rank times one store to page 0
// and answers. On a coherent distributed filesystem that store must wait for
// the owner to give the page up (flush + unmap); on one local page cache it
// costs what a plain store costs. The timed store is one-way by construction:
// no clock is compared across ranks.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>

#include <algorithm>

#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"
#include "kernels.hpp"
#include "timer.hpp"
#include "token.hpp"

namespace dmmap::bench {
namespace {

constexpr int kTokenTag = 7301;
constexpr int kAckTag = 7302;

class Revocation : public Kernel {
 public:
  explicit Revocation(std::size_t dirty) : dirty_(std::max<std::size_t>(dirty, 1)) {}

  void setup(RunContext& ctx) override {
    const auto path = ctx.file("revocation");
    const std::size_t bytes = dirty_ * page_size();
    ctx.step([&] {
      if (ctx.rank() != 0) return;
      create_file(path, bytes, 0);
      cleanup_ = std::make_unique<Unlinker>(path);
    });
    ctx.step([&] {
      fd_ = open_when_visible(path, O_RDWR);
      map_ = Mapping(fd_.get(), bytes, PROT_READ | PROT_WRITE, MAP_SHARED);
    });
  }

  // Returns the whole ping-pong (both directions, messages included), so that
  // Google Benchmark's wall time stays near --benchmark_min_time; the one-way
  // store latencies go to the histogram.
  std::uint64_t iteration(RunContext& ctx) override {
    const auto begin = now_ns();
    const int me = ctx.rank();
    volatile std::uint8_t* base = map_.data();
    for (int owner = 0; owner < 2; ++owner) {
      const auto value = static_cast<unsigned char>(++round_);
      if (me == owner) {
        for (std::size_t i = 0; i < dirty_; ++i) base[i * page_size()] = value;
        message(ctx, 1 - me, kTokenTag, true);
        message(ctx, 1 - me, kAckTag, false);
      } else {
        message(ctx, owner, kTokenTag, false);
        const auto before = thread_faults();
        const auto t0 = now_ns();
        base[0] = static_cast<unsigned char>(value + 1);
        const auto t = now_ns() - t0;
        faults += thread_faults() - before;
        record(t, ctx.shared.correction_ns);
        ++ops;
        message(ctx, owner, kAckTag, true);
      }
    }
    return now_ns() - begin;
  }

 private:
  static void message(RunContext& ctx, int peer, int tag, bool send) { pass_token(ctx, peer, tag, send, "revocation"); }

  std::size_t dirty_;
  Fd fd_;
  Mapping map_;
  std::unique_ptr<Unlinker> cleanup_;
  unsigned round_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_revocation(std::size_t dirty_pages) { return std::make_unique<Revocation>(dirty_pages); }

}  // namespace dmmap::bench
