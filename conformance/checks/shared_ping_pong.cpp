// shared.ping-pong: the ranks take turns incrementing one counter on one page
// of a MAP_SHARED mapping; each turn must see the previous turn's store (the
// seed HLD's case 2: a write lock moving between clients must carry the page
// with it). A turn does what --expect promises to be enough: strict, nothing
// but the barrier; msync, an msync after the store; close-to-open, a fresh
// open and mapping for every turn.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <optional>

#include "check.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"

namespace dmmap::conform {
namespace {

constexpr int kRoundsPerRank = 100;

// One turn's increment under the expected level's discipline; returns the value seen.
std::uint64_t increment(CheckContext& ctx, const std::filesystem::path& file, Mapping& cached) {
  std::optional<Fd> fd;
  std::optional<Mapping> fresh;
  Mapping* map = &cached;
  if (ctx.expected() == Level::close_to_open) {
    fd.emplace(open_file(file, O_RDWR));
    map = &fresh.emplace(fd->get(), page_size(), PROT_READ | PROT_WRITE, MAP_SHARED);
  }
  auto* counter = reinterpret_cast<volatile std::uint64_t*>(map->data());
  const std::uint64_t seen = *counter;
  *counter = seen + 1;
  if (ctx.expected() != Level::strict) map->sync();
  return seen;
}

void run(CheckContext& ctx) {
  const std::size_t page = page_size();
  const auto file = ctx.path("counter");
  if (ctx.rank() == 0) create_file(file, page, 0);
  ctx.barrier();

  Fd fd = open_file(file, O_RDWR);
  Mapping map(fd.get(), page, PROT_READ | PROT_WRITE, MAP_SHARED);
  const int turns = kRoundsPerRank * ctx.size();
  bool stale = false;
  for (int turn = 0; turn < turns; ++turn) {
    if (turn % ctx.size() == ctx.rank() && !stale) {
      const std::uint64_t seen = increment(ctx, file, map);
      if (seen != static_cast<std::uint64_t>(turn)) {
        ADD_FAILURE() << fmt::format("turn {}: the counter reads {}, expected {} (a stale page at --expect {})", turn,
                                     seen, turn, to_string(ctx.expected()));
        stale = true;  // keep taking part in the barriers, stop incrementing
      }
    }
    ctx.barrier();
  }
  Fd last = open_file(file, O_RDONLY);  // a fresh open satisfies every level
  Mapping end(last.get(), page, PROT_READ, MAP_SHARED);
  const std::uint64_t total = *reinterpret_cast<const volatile std::uint64_t*>(end.data());
  if (total != static_cast<std::uint64_t>(turns))
    ADD_FAILURE() << fmt::format("final counter, opened afresh, is {}, expected {}", total, turns);
  ctx.barrier();
}

const CheckRegistration check({
    .id = "shared.ping-pong",
    .summary = "ranks alternately increment one mapped counter: exactly N per rank in total",
    .quick = true,
    .distinct_clients = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
