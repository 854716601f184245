// shared.false-sharing: every rank stores, concurrently, into its own
// deliberately unaligned block; the blocks share pages (OCFS2's multi_mmap).
// Page-granular write-back of a whole page must not clobber a neighbour's
// bytes in it. Levels: seen through the rank's own mapping after a barrier
// (strict), after every rank's msync (msync), after reopening (close-to-open);
// a byte lost even then is level none.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstring>
#include <optional>

#include "check.hpp"
#include "dmmap/probe/mapping.hpp"
#include "dmmap/probe/files.hpp"

namespace dmmap::conform {
namespace {

std::uint8_t value_of(int rank) { return static_cast<std::uint8_t>(0xA0 + rank); }

// Block of `rank`: starts at an odd offset, 1.5 pages + 37 bytes long, so
// every page boundary between ranks falls inside somebody's block.
struct Layout {
  std::size_t offset0, length, size;
  explicit Layout(int ranks) : offset0(123), length(page_size() * 3 / 2 + 37) {
    size = (offset0 + length * static_cast<std::size_t>(ranks) + page_size()) / page_size() * page_size();
  }
  std::size_t begin(int rank) const { return offset0 + length * static_cast<std::size_t>(rank); }
  // The byte every rank expects at `i`: its owner's value, 0 outside every block.
  std::uint8_t expected(std::size_t i, int ranks) const {
    if (i < offset0 || i >= begin(ranks)) return 0;
    return value_of(static_cast<int>((i - offset0) / length));
  }
};

// The first wrong byte, described, or "".
std::string first_wrong(const std::uint8_t* p, std::size_t n, const Layout& layout, int ranks) {
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] != layout.expected(i, ranks))
      return fmt::format("byte {} (page {}) is 0x{:02x}, expected 0x{:02x}", i, i / page_size(), p[i],
                         layout.expected(i, ranks));
  return n == layout.size ? "" : fmt::format("file is {} bytes, expected {}", n, layout.size);
}

void run(CheckContext& ctx) {
  const Layout layout(ctx.size());
  const auto file = ctx.path("blocks");
  if (ctx.rank() == 0) create_file(file, layout.size, 0);
  ctx.barrier();

  std::optional<Fd> fd = open_file(file, O_RDWR);
  std::optional<Mapping> map{std::in_place, fd->get(), layout.size, PROT_READ | PROT_WRITE, MAP_SHARED};
  EXPECT_EQ(count_equal(map->data(), layout.size, 0), layout.size) << "new file not zero";  // cache every page
  ctx.barrier();

  std::memset(map->data() + layout.begin(ctx.rank()), value_of(ctx.rank()), layout.length);
  ctx.barrier();
  std::optional<Level> level;
  std::string wrong = first_wrong(reinterpret_cast<const std::uint8_t*>(map->data()), layout.size, layout, ctx.size());
  if (wrong.empty()) level = Level::strict;
  ctx.barrier();

  map->sync();
  ctx.barrier();
  if (!level) wrong = first_wrong(reinterpret_cast<const std::uint8_t*>(map->data()), layout.size, layout, ctx.size());
  if (!level && wrong.empty()) level = Level::msync;
  map.reset();
  fd.reset();
  ctx.barrier();

  Fd fresh = open_file(file, O_RDONLY);
  auto bytes = pread_exact(fresh.get(), layout.size, 0);
  const std::string lost = first_wrong(bytes.data(), bytes.size(), layout, ctx.size());
  if (!level && lost.empty()) level = Level::close_to_open;
  if (!lost.empty())
    ctx.note("after reopening, a neighbour's bytes were lost: " + lost);
  else if (!wrong.empty())
    ctx.note("through the mapping: " + wrong);
  ctx.reached(level.value_or(Level::none), "blocks of every rank");
  ctx.barrier();
}

const CheckRegistration check({
    .id = "shared.false-sharing",
    .summary = "concurrent stores to unaligned blocks sharing pages: no byte lost",
    .min_ranks = 2,
    .measures_level = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
