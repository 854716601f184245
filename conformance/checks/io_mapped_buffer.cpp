// io.mapped-buffer: a mapping as the buffer of write(2). At the same moment
// rank 0 write()s file X from its mapping of file Y while rank 1 write()s Y
// from its mapping of X, each source page dropped from the writer's cache
// first, so that the copy faults on one file while the write holds the other
// (Lustre's mmap_sanity test 5; the seed HLD's lock-ordering case across
// clients: whole-file locks taken in opposite orders deadlock unless the
// fault can be served while the write holds its lock). Rank 0 also write()s
// file Z from its own mapping of Z, the same-file case on one client. The
// sources and destinations are disjoint halves, so the right result is
// fixed; every rank grades it on the level ladder (ladder.hpp) with pread().
// A deadlock is a HANG.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "check.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"
#include "ladder.hpp"

namespace dmmap::conform {
namespace {

constexpr std::size_t kHalfPages = 2;  // source half, then destination half

struct Copy {
  const char* dst;         // the file written
  const char* src;         // the file mapped as the buffer
  int rank;                // who copies
  std::uint8_t src_value;  // the source half's bytes, which must arrive in dst's second half
};
// X <- Y by rank 0 and Y <- X by rank 1 at once; Z <- Z by rank 0.
const std::array<Copy, 3> kCopies{{{"X", "Y", 0, 0x92}, {"Y", "X", 1, 0x91}, {"Z", "Z", 0, 0x93}}};
std::uint8_t source_value(const std::string& name) {
  for (const Copy& c : kCopies)
    if (name == c.src) return c.src_value;
  return 0;
}

std::size_t half() { return kHalfPages * page_size(); }

// write(2) of `c.src`'s first half, through a fresh mapping of it, into `c.dst`'s second half.
void copy(CheckContext& ctx, const Copy& c) {
  const Fd src = open_file(ctx.path(c.src), O_RDWR);
  drop_cached(src.get());  // the copy must fault the source in while the write is under way
  const Mapping map(src.get(), half(), PROT_READ, MAP_SHARED);
  const Fd dst = open_file(ctx.path(c.dst), O_RDWR);
  pwrite_exact(dst.get(), map.data(), half(), static_cast<off_t>(half()));
}

void run(CheckContext& ctx) {
  if (ctx.rank() == 0)
    for (const char* name : {"X", "Y", "Z"}) {
      const Fd fd = create_file(ctx.path(name), 2 * half(), 0);
      pwrite_exact(fd.get(), std::vector<std::uint8_t>(half(), source_value(name)).data(), half(), 0);
      fsync_file(fd.get());
    }
  ctx.barrier();
  // Every rank caches every file, destination halves (zeros) included.
  std::map<std::string, std::unique_ptr<Fd>> fds;
  for (const char* name : {"X", "Y", "Z"}) {
    fds[name] = std::make_unique<Fd>(open_file(ctx.path(name), O_RDWR));
    EXPECT_EQ(pread_exact(fds[name]->get(), 2 * half(), 0).size(), 2 * half());
  }
  ctx.barrier();
  for (const Copy& c : kCopies)
    if (c.rank == ctx.rank()) copy(ctx, c);

  std::string wrong;
  Rungs rungs;
  rungs.what = fmt::format("write()s from mappings by ranks 0 and 1 -> pread by rank {}", ctx.rank());
  rungs.writer = ctx.rank() == 0 || ctx.rank() == 1;
  rungs.reader = true;
  rungs.sync = [&] {
    for (auto& [name, fd] : fds) fsync_file(fd->get());
  };
  rungs.close = [&] { fds.clear(); };
  rungs.look = [&](Level rung) {
    wrong.clear();
    for (const Copy& c : kCopies) {
      const Fd fresh = rung == Level::close_to_open ? open_file(ctx.path(c.dst), O_RDONLY) : Fd();
      const int fd = rung == Level::close_to_open ? fresh.get() : fds.at(c.dst)->get();
      const auto got = pread_up_to(fd, half(), static_cast<off_t>(half()));
      if (got.size() != half() || count_equal(got.data(), half(), c.src_value) != half())
        wrong += fmt::format("{} <- mapping of {}: {} of {} bytes arrived; ", c.dst, c.src,
                             count_equal(got.data(), got.size(), c.src_value), half());
    }
    return wrong.empty();
  };
  climb(ctx, rungs);
  if (!wrong.empty()) ctx.note(wrong);
}

const CheckRegistration check({
    .id = "io.mapped-buffer",
    .summary = "write() from a mapping of another file, on two clients in opposite directions at once: no deadlock",
    .measures_level = true,
    .distinct_clients = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
