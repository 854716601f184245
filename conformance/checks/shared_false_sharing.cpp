// shared.false-sharing: every rank stores, concurrently, into its own
// deliberately unaligned block; the blocks share pages (OCFS2's multi_mmap).
// Page-granular write-back of a whole page must not clobber a neighbour's
// bytes in it. Levels on the ladder (ladder.hpp), every rank a writer and a
// reader: seen through the rank's own mapping after a barrier (strict), after
// every rank's msync (msync), with pread() after every rank closed and
// reopened (close-to-open); a byte lost even then is level none.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <vector>

#include "check.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"
#include "ladder.hpp"

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
  std::vector<int> everyone(static_cast<std::size_t>(ctx.size()));
  std::iota(everyone.begin(), everyone.end(), 0);
  std::string wrong, lost;  // the last look through the mapping; the look after reopening

  climb_file(ctx, file,
             {.what = "blocks of every rank",
              .writers = everyone,
              .writers_read = true,
              .length = layout.size,
              .prime =
                  [&](FileView& v) {  // cache every page
                    EXPECT_EQ(count_equal(v.map.data(), layout.size, 0), layout.size) << "new file not zero";
                  },
              .make =
                  [&](FileView& v) {
                    std::memset(v.map.data() + layout.begin(ctx.rank()), value_of(ctx.rank()), layout.length);
                  },
              .sync = [](FileView& v) { v.map.sync(); },
              .seen =
                  [&](const FileView& v, Level rung) {
                    if (rung != Level::close_to_open) {
                      wrong = first_wrong(v.map.data(), layout.size, layout, ctx.size());
                      return wrong.empty();
                    }
                    const auto bytes = pread_up_to(v.fd.get(), layout.size, 0);
                    lost = first_wrong(bytes.data(), bytes.size(), layout, ctx.size());
                    return lost.empty();
                  }});
  if (!lost.empty())
    ctx.note("after reopening, a neighbour's bytes were lost: " + lost);
  else if (!wrong.empty())
    ctx.note("through the mapping: " + wrong);
}

const CheckRegistration check({
    .id = "shared.false-sharing",
    .summary = "concurrent stores to unaligned blocks sharing pages: no byte lost",
    .measures_level = true,
    .distinct_clients = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
