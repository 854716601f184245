// stat of a file another client is writing through a mapping: what `stat`,
// `SEEK_END` and `O_APPEND` cost when the size and mtime live in another
// client's dirty page cache.
//
// Ranks 0 and 1 map the same file (each through its own view). In each
// iteration, for each direction: the writer stores to page 0 and passes a
// token; the other rank times one fstat() and answers; the writer then
// stores to page 0 again. A filesystem that gets the size by recalling the
// writer's lock (dmfs today) makes that second store fault: counted as
// writer_refaults (per stat), 0 where the size is asked for instead (a
// glimpse). The timed call is one-way by construction.
#include <fcntl.h>
#include <sys/stat.h>

#include <system_error>

#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"
#include "kernels.hpp"
#include "timer.hpp"
#include "token.hpp"

namespace dmmap::bench {
namespace {

constexpr int kTokenTag = 7311;
constexpr int kAckTag = 7312;

class StatRemoteWriter : public Kernel {
 public:
  void setup(RunContext& ctx) override {
    const auto path = ctx.file("stat-remote-writer");
    ctx.step([&] {
      if (ctx.rank() != 0) return;
      create_file(path, page_size(), 0);
      cleanup_ = std::make_unique<Unlinker>(path);
    });
    ctx.step([&] {
      fd_ = open_when_visible(path, O_RDWR);
      map_ = Mapping(fd_.get(), page_size(), PROT_READ | PROT_WRITE, MAP_SHARED);
    });
  }

  std::uint64_t iteration(RunContext& ctx) override {
    const auto begin = now_ns();
    const int me = ctx.rank();
    volatile std::uint8_t* page = map_.data();
    for (int writer = 0; writer < 2; ++writer) {
      const auto value = static_cast<unsigned char>(++round_);
      if (me == writer) {
        page[0] = value;
        exchange(ctx, 1 - me, kTokenTag, true);
        exchange(ctx, 1 - me, kAckTag, false);
        const auto before = thread_faults();
        page[1] = value;
        refaults_ += (thread_faults() - before).total();
      } else {
        exchange(ctx, writer, kTokenTag, false);
        struct stat st {};
        const auto t0 = now_ns();
        const int rc = ::fstat(fd_.get(), &st);
        const auto t = now_ns() - t0;
        if (rc != 0) throw std::system_error(errno, std::generic_category(), "fstat");
        record(t, ctx.shared.correction_ns);
        ++ops;
        exchange(ctx, writer, kAckTag, true);
      }
    }
    return now_ns() - begin;
  }

  void add_counters(RunContext& ctx, benchmark::State& state) override {
    const auto stats = ctx.world().sum(ops, "sum of stats");
    const auto refaults = ctx.world().sum(refaults_, "sum of writer refaults");
    state.counters["writer_refaults"] = stats ? static_cast<double>(refaults) / static_cast<double>(stats) : 0.0;
  }

 private:
  static void exchange(RunContext& ctx, int peer, int tag, bool send) { pass_token(ctx, peer, tag, send, "stat"); }

  Fd fd_;
  Mapping map_;
  std::unique_ptr<Unlinker> cleanup_;
  unsigned round_ = 0;
  std::uint64_t refaults_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_stat_remote_writer() { return std::make_unique<StatRemoteWriter>(); }

}  // namespace dmmap::bench
