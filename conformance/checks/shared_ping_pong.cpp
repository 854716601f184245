// shared.ping-pong: the ranks take turns incrementing one counter on one page
// of a MAP_SHARED mapping, ordered only by barriers; each turn must see the
// previous turn's store (the seed HLD's case 2: a write lock moving between
// clients must carry the page with it).
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>

#include "check.hpp"
#include "dmmap/probe/mapping.hpp"
#include "file_util.hpp"

namespace dmmap::conform {
namespace {

constexpr int kRoundsPerRank = 100;

void run(CheckContext& ctx) {
  const std::size_t page = page_size();
  const auto file = ctx.path("counter");
  if (ctx.rank() == 0) create_file(file, page, 0);
  ctx.barrier();

  Fd fd = open_file(file, O_RDWR);
  Mapping map(fd.get(), page, PROT_READ | PROT_WRITE, MAP_SHARED);
  auto* counter = reinterpret_cast<volatile std::uint64_t*>(map.data());
  const int turns = kRoundsPerRank * ctx.size();
  bool stale = false;
  for (int turn = 0; turn < turns; ++turn) {
    if (turn % ctx.size() == ctx.rank() && !stale) {
      const std::uint64_t seen = *counter;
      if (seen != static_cast<std::uint64_t>(turn)) {
        ADD_FAILURE() << fmt::format("turn {}: the counter reads {}, expected {} (a stale page)", turn, seen, turn);
        stale = true;  // keep taking part in the barriers, stop incrementing
      }
      *counter = seen + 1;
    }
    ctx.barrier();
  }
  const std::uint64_t end = *counter;
  EXPECT_EQ(end, static_cast<std::uint64_t>(turns)) << "final counter through this client's mapping";
  ctx.barrier();
}

const CheckRegistration check({
    .id = "shared.ping-pong",
    .summary = "ranks alternately increment one mapped counter: exactly N per rank in total",
    .min_ranks = 2,
    .quick = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
