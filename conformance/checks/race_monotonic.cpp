// race.monotonic: rank 0 increments a counter through its mapping as fast as
// it can for --race-seconds; every other rank reads it through a mapping of
// its own and, between reads, drops its cached page and maps afresh. No
// barrier orders the two sides, so every read races a store, a write-back or
// a revocation (the fault-against-revocation windows of Lustre LU-1978 and
// LU-16160). A reader must never see the counter go backwards. After the
// race rank 0 stores once more and the readers grade that value on the
// level ladder (ladder.hpp).
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "check.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"
#include "ladder.hpp"

namespace dmmap::conform {
namespace {

using Clock = std::chrono::steady_clock;

std::uint64_t load_counter(const Mapping& map) {
  return __atomic_load_n(reinterpret_cast<const std::uint64_t*>(map.data()), __ATOMIC_RELAXED);
}

// Rank 0: one aligned 8-byte store per increment; returns the last value stored.
std::uint64_t increment_until(const Mapping& map, Clock::time_point deadline) {
  auto* counter = reinterpret_cast<std::uint64_t*>(map.data());
  std::uint64_t value = __atomic_load_n(counter, __ATOMIC_RELAXED);
  do {
    for (int i = 0; i < 256; ++i) __atomic_store_n(counter, ++value, __ATOMIC_RELAXED);
  } while (Clock::now() < deadline);
  return value;
}

struct Reads {
  std::uint64_t count = 0, last = 0, changes = 0;
};

// Every other rank: map afresh after dropping the page, read, check. Stops
// at the first value below one already seen (a FAIL) or at the deadline,
// with the last mapping read through, so its page is cached for the ladder.
Reads read_until(CheckContext& ctx, int fd, std::unique_ptr<Mapping>& map, Clock::time_point deadline) {
  Reads reads;
  for (;;) {
    const std::uint64_t value = load_counter(*map);
    if (value < reads.last) {
      ADD_FAILURE() << fmt::format("read {}: the counter went backwards from {} to {} (rank {}'s view)", reads.count,
                                   reads.last, value, ctx.rank());
      break;
    }
    reads.changes += value != reads.last;
    reads.last = value;
    ++reads.count;
    if (Clock::now() >= deadline) break;
    map.reset();
    drop_cached(fd);
    map = std::make_unique<Mapping>(fd, page_size(), PROT_READ, MAP_SHARED);
  }
  return reads;
}

void run(CheckContext& ctx) {
  const auto file = ctx.path("counter");
  if (ctx.rank() == 0) create_file(file, page_size(), 0);
  ctx.barrier();
  const bool writer = ctx.rank() == 0;
  auto fd = std::make_unique<Fd>(open_file(file, writer ? O_RDWR : O_RDONLY));
  auto map = std::make_unique<Mapping>(fd->get(), page_size(), writer ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED);
  EXPECT_EQ(load_counter(*map), 0u) << "the new file's counter is not zero";
  ctx.barrier();  // from here on, nothing orders the writer and the readers

  const auto deadline = Clock::now() + ctx.params().race;
  std::uint64_t last = 0;
  Reads reads;
  if (writer)
    last = increment_until(*map, deadline);
  else
    reads = read_until(ctx, fd->get(), map, deadline);
  last = std::stoull(ctx.broadcast(std::to_string(last)));
  if (!writer)
    ctx.note(fmt::format("{} reads during the race saw {} values, the last {} of {}", reads.count, reads.changes,
                         reads.last, last));

  // One more store once every reader has its page cached: the readers' last
  // reads may have caught the race's last value by luck (another rank of the
  // writer's client flushing it), this one they can only get by coherence.
  const std::uint64_t final_value = last + 1;
  Rungs rungs;
  rungs.what = fmt::format("rank 0's last value -> rank {}", ctx.rank());
  rungs.writer = writer;
  rungs.reader = !writer;
  rungs.change = [&] {
    __atomic_store_n(reinterpret_cast<std::uint64_t*>(map->data()), final_value, __ATOMIC_RELAXED);
  };
  rungs.sync = [&] { map->sync(); };
  rungs.close = [&] {
    map.reset();
    fd.reset();
  };
  rungs.look = [&](Level rung) {
    if (rung != Level::close_to_open) return load_counter(*map) == final_value;
    const FileView fresh(file, page_size(), false);
    return load_counter(fresh.map) == final_value;
  };
  climb(ctx, rungs);
}

const CheckRegistration check({
    .id = "race.monotonic",
    .summary = "a counter stored without pause is never seen going backwards by a reader remapping it",
    .measures_level = true,
    .quick = true,
    .distinct_clients = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
