// race.mkwrite-storm: every rank stores its own bytes, interleaved with every
// other rank's, into the same few pages for --race-seconds, round after
// round, and msyncs after each round so that the next round's first store
// into each page faults for write again (page_mkwrite) while the other
// clients do the same: write permission and dirty pages change hands between
// clients as fast as they can. No barrier orders the ranks. Page-granular
// write-back under this contention must lose no byte: at the end every byte
// holds its owner's last value, graded on the level ladder (ladder.hpp) —
// through each rank's own mapping after a barrier (strict), after every
// rank's msync (msync), with pread() after every rank closed and reopened
// (close-to-open); a byte lost even then is level none.
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "check.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"
#include "ladder.hpp"

namespace dmmap::conform {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kPages = 4;  // the same pages whatever the ranks: total work grows with ranks, not their square

// Rank `rank`'s value in round `round`: never zero, different from round to round.
std::uint8_t value_of(int rank, long round) { return static_cast<std::uint8_t>(1 + (round * 7 + rank * 31) % 251); }

// Byte i belongs to rank i mod ranks.
struct Owners {
  int ranks;
  std::vector<long> last_round;  // each rank's last completed round
  std::uint8_t expected(std::size_t i) const {
    const int owner = static_cast<int>(i % static_cast<std::size_t>(ranks));
    return value_of(owner, last_round[static_cast<std::size_t>(owner)]);
  }
};

// One round of this rank: its byte of every `ranks` bytes, all pages, then msync.
void store_round(const Mapping& map, int rank, int ranks, long round) {
  const std::uint8_t value = value_of(rank, round);
  for (std::size_t i = static_cast<std::size_t>(rank); i < map.size(); i += static_cast<std::size_t>(ranks))
    map.data()[i] = value;
  map.sync();
}

// The first wrong byte, described, or "".
std::string first_wrong(const std::uint8_t* p, std::size_t n, std::size_t want, const Owners& owners) {
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] != owners.expected(i))
      return fmt::format("byte {} (page {}, rank {}'s) is 0x{:02x}, expected 0x{:02x}", i, i / page_size(),
                         i % static_cast<std::size_t>(owners.ranks), p[i], owners.expected(i));
  return n == want ? "" : fmt::format("file is {} bytes, expected {}", n, want);
}

void run(CheckContext& ctx) {
  const std::size_t size = kPages * page_size();
  const auto file = ctx.path("storm");
  if (ctx.rank() == 0) create_file(file, size, 0);
  ctx.barrier();
  auto view = std::make_unique<FileView>(file, size, true);
  EXPECT_EQ(count_equal(view->map.data(), size, 0), size) << "the new file is not zero";
  ctx.barrier();  // from here on, nothing orders the ranks

  const auto deadline = Clock::now() + ctx.params().race;
  long round = -1;
  do store_round(view->map, ctx.rank(), ctx.size(), ++round);
  while (Clock::now() < deadline);

  Owners owners{ctx.size(), {}};
  for (const std::string& r : ctx.allgather(std::to_string(round))) owners.last_round.push_back(std::stol(r));
  if (ctx.rank() == 0) {
    std::vector<long> completed;
    for (long last : owners.last_round) completed.push_back(last + 1);
    ctx.note(fmt::format("rounds completed per rank: {}", fmt::join(completed, ", ")));
  }

  std::string wrong, lost;
  Rungs rungs;
  rungs.what = fmt::format("every rank's last bytes -> rank {}", ctx.rank());
  rungs.writer = rungs.reader = true;
  rungs.sync = [&] { view->map.sync(); };
  rungs.close = [&] { view.reset(); };
  rungs.look = [&](Level rung) {
    if (rung != Level::close_to_open) {
      wrong = first_wrong(view->map.data(), size, size, owners);
      return wrong.empty();
    }
    const Fd fd = open_file(file, O_RDONLY);
    const auto bytes = pread_up_to(fd.get(), size, 0);
    lost = first_wrong(bytes.data(), bytes.size(), size, owners);
    return lost.empty();
  };
  climb(ctx, rungs);
  if (!lost.empty())
    ctx.note(fmt::format("after reopening, a byte was lost: {}", lost));
  else if (!wrong.empty())
    ctx.note(fmt::format("through the mapping: {}", wrong));
}

const CheckRegistration check({
    .id = "race.mkwrite-storm",
    .summary = "every client storing into the same pages at once, msync after each round: no byte lost",
    .measures_level = true,
    .distinct_clients = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
