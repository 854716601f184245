// race.fault-vs-truncate: rank 0 shrinks and extends a file in a loop for
// --race-seconds, storing the cycle's number into the re-extended tail each
// time; every other rank faults the pages near EOF meanwhile, dropping its
// page-table entries (and every few reads its cached pages) between reads,
// with no barrier in between. The window is a page fault that fetches a page
// while a truncation invalidates it (Lustre LU-15815, LU-16649; fstests
// generic/647). A reader may see old or new data, or SIGBUS beyond the EOF
// of the moment; never a hang, never data from before a shrink-and-extend:
// the bytes the loop never writes must read zero, and a cycle's number once
// seen rules out every older one.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <system_error>

#include "check.hpp"
#include "dmmap/probe/fault_probe.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"

namespace dmmap::conform {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::uint8_t kOld = 0xAB;            // the file's bytes before the first shrink
constexpr std::uint32_t kMaxCycle = 1u << 30;  // far above what any run reaches; an old word is above it
constexpr std::size_t kPages = 4;

// Where things are: the file shrinks to `cut` (inside page 1) and grows back
// to `full`. The loop stores its cycle into `slots`; `zeros` are never
// written again after the first shrink; `kept` are below the cut.
struct Layout {
  std::size_t page = page_size(), full = kPages * page, cut = page + page / 2;
  std::array<std::size_t, 3> slots{cut + 64, 2 * page + 64, 3 * page + 64};
  std::array<std::size_t, 3> zeros{cut + 200, 2 * page + 1000, full - 1};
  std::array<std::size_t, 3> kept{0, page - 1, cut - 1};
};

void truncate_to(int fd, std::size_t size) {
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0)
    throw std::system_error(errno, std::generic_category(), "ftruncate");
}

// Rank 0: one shrink-and-extend, then the cycle's number into every slot.
void cycle(const Layout& l, int fd, const Mapping& map, std::uint32_t number) {
  truncate_to(fd, l.cut);
  truncate_to(fd, l.full);
  for (std::size_t slot : l.slots)
    __atomic_store_n(reinterpret_cast<std::uint32_t*>(map.data() + slot), number, __ATOMIC_RELAXED);
}

struct Reader {
  const Layout& l;
  const Mapping& map;
  int fd;
  std::uint32_t newest = 0;  // the highest cycle number seen so far
  std::size_t newest_at = 0;
  long newest_read = 0, reads = 0, sigbus = 0;

  // What the word holds a moment after it read backwards, through a fresh
  // fault and through read(): tells a page that stays stale from a load that
  // was stale once.
  std::string reread(std::size_t at) {
    ::madvise(map.data(), l.full, MADV_DONTNEED);
    std::uint32_t mapped = 0;
    const ProbeResult r = probe_load_word(reinterpret_cast<const std::uint32_t*>(map.data() + at), mapped);
    const auto bytes = pread_up_to(fd, sizeof(std::uint32_t), static_cast<off_t>(at));
    std::uint32_t read = 0;
    std::memcpy(&read, bytes.data(), std::min(bytes.size(), sizeof read));
    return fmt::format("a moment later the mapping gives {} and pread {}",
                       r.ok() ? std::to_string(mapped) : r.describe(),
                       bytes.size() == sizeof read ? std::to_string(read) : "nothing (beyond EOF)");
  }

  // One look at every probe; "" or what was wrong.
  std::string look() {
    for (std::size_t at : l.kept) {
      const ProbeResult r = probe_load(map.data() + at);
      if (!r.ok()) return fmt::format("byte {} below the shrunk size gave {}", at, r.describe());
      if (r.value != kOld)
        return fmt::format("byte {} below the shrunk size reads 0x{:02x}, not 0x{:02x}", at, r.value, kOld);
    }
    for (std::size_t at : l.zeros) {
      const ProbeResult r = probe_load(map.data() + at);
      sigbus += !r.ok();
      if (r.ok() && r.value != 0)
        return fmt::format("byte {} (page {}) reads 0x{:02x} after a shrink-and-extend, where zeros are required", at,
                           at / l.page, r.value);
    }
    for (std::size_t at : l.slots) {
      std::uint32_t value = 0;
      const ProbeResult r = probe_load_word(reinterpret_cast<const std::uint32_t*>(map.data() + at), value);
      sigbus += !r.ok();
      if (!r.ok() || value == 0) continue;
      if (value > kMaxCycle)
        return fmt::format("word at {} reads 0x{:08x}: data from before the first shrink-and-extend", at, value);
      if (value < newest)
        return fmt::format(
            "word at {} holds cycle {} after cycle {} was seen (word at {}, read {}): stale data after a "
            "shrink-and-extend; {}",
            at, value, newest, newest_at, newest_read, reread(at));
      if (value > newest) {
        newest = value;
        newest_at = at;
        newest_read = reads;
      }
    }
    ++reads;
    return "";
  }
};

void run(CheckContext& ctx) {
  const Layout l;
  const auto file = ctx.path("shrinking");
  if (ctx.rank() == 0) create_file(file, l.full, kOld);
  ctx.barrier();
  const bool writer = ctx.rank() == 0;
  Fd fd = open_file(file, writer ? O_RDWR : O_RDONLY);
  Mapping map(fd.get(), l.full, writer ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED);
  ASSERT_EQ(count_equal(map.data(), l.full, kOld), l.full) << "the file's bytes are not what this client sees";
  ctx.barrier();  // every client has every page cached

  std::uint32_t number = 1;
  if (writer) cycle(l, fd.get(), map, number);
  ctx.barrier();  // from here on, nothing orders the writer and the readers

  const auto deadline = Clock::now() + ctx.params().race;
  Reader reader{l, map, fd.get()};
  if (writer) {
    while (Clock::now() < deadline && number < kMaxCycle) cycle(l, fd.get(), map, ++number);
  } else {
    while (Clock::now() < deadline) {
      const std::string wrong = reader.look();
      if (!wrong.empty()) {
        ADD_FAILURE() << fmt::format("read {}: {}", reader.reads, wrong);
        break;
      }
      // Fault again next time: from the cached page, and every 8th time from the filesystem.
      ::madvise(map.data(), l.full, MADV_DONTNEED);
      if (reader.reads % 8 == 0) drop_cached(fd.get());
    }
  }
  number = static_cast<std::uint32_t>(std::stoul(ctx.broadcast(std::to_string(number))));
  if (!writer)
    ctx.note(fmt::format("{} reads ({} SIGBUS) during {} shrink-and-extend cycles, newest cycle seen {}", reader.reads,
                         reader.sigbus, number, reader.newest));
  ctx.barrier();
}

const CheckRegistration check({
    .id = "race.fault-vs-truncate",
    .summary = "faults near EOF racing a remote shrink-and-extend loop never show stale data, never hang",
    .quick = true,
    .distinct_clients = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
