// shared.punch-hole: rank 0 deallocates (FALLOC_FL_PUNCH_HOLE) or zeroes
// (FALLOC_FL_ZERO_RANGE) a range of a file, partial pages at both ends,
// that every other client has mapped and cached; their mappings must read
// zeros there and the old bytes elsewhere. Linux 5.15 fixed stale data here
// for ceph, fuse and cifs (the page cache was not invalidated after the
// server zeroed the range). Graded on the level ladder (ladder.hpp); a mode
// the filesystem refuses (EOPNOTSUPP, ENOSYS) is noted, both refused: SKIP.
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <linux/falloc.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include "check.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"
#include "ladder.hpp"

namespace dmmap::conform {
namespace {

constexpr std::uint8_t kOld = 0xCD;
constexpr std::size_t kPages = 4;

struct Mode {
  const char* name;
  int flags;
};
const Mode kModes[] = {{"FALLOC_FL_PUNCH_HOLE", FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE},
                       {"FALLOC_FL_ZERO_RANGE", FALLOC_FL_ZERO_RANGE}};

// The zeroed range: from inside page 0 to inside page 2, whole page 1 with it.
struct Range {
  std::size_t begin = page_size() / 2 + 17, end = 2 * page_size() + page_size() / 3;
  bool inside(std::size_t i) const { return i >= begin && i < end; }
};

// "" if rank 0's filesystem takes the mode, else why not (the same answer on every rank).
std::string refusal(CheckContext& ctx, const Mode& mode) {
  std::string why;
  if (ctx.rank() == 0) {
    const auto file = ctx.path(fmt::format("probe-{}", mode.flags));
    const Fd fd = create_file(file, kPages * page_size(), kOld);
    const Range r;
    if (::fallocate(fd.get(), mode.flags, static_cast<off_t>(r.begin), static_cast<off_t>(r.end - r.begin)) != 0)
      why = fmt::format("{}: {}", mode.name, std::strerror(errno));
    std::filesystem::remove(file);
  }
  return ctx.broadcast(why);
}

std::string first_wrong(const std::uint8_t* p, std::size_t n, const Range& r) {
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t want = r.inside(i) ? 0 : kOld;
    if (p[i] != want)
      return fmt::format("byte {} (page {}) is 0x{:02x}, expected 0x{:02x}", i, i / page_size(), p[i], want);
  }
  return "";
}

void run_mode(CheckContext& ctx, const Mode& mode) {
  const std::size_t size = kPages * page_size();
  const auto file = ctx.path(fmt::format("zeroed-{}", mode.flags));
  if (ctx.rank() == 0) create_file(file, size, kOld);
  ctx.barrier();
  const Range r;
  std::string wrong;
  climb_file(
      ctx, file,
      {.what = fmt::format("{} by rank 0 -> mapping of rank {}", mode.name, ctx.rank()),
       .length = size,
       .prime = [&](FileView& v) { ASSERT_EQ(count_equal(v.map.data(), size, kOld), size) << "file not as written"; },
       .make =
           [&](FileView& v) {
             if (::fallocate(v.fd.get(), mode.flags, static_cast<off_t>(r.begin),
                             static_cast<off_t>(r.end - r.begin)) != 0)
               throw std::system_error(errno, std::generic_category(), mode.name);
           },
       .sync = [](FileView& v) { fsync_file(v.fd.get()); },
       .seen =
           [&](const FileView& v, Level rung) {
             const std::string now = first_wrong(v.map.data(), size, r);
             if (wrong.empty()) wrong = now.empty() ? "" : fmt::format("at {}: {}", to_string(rung), now);
             return now.empty();
           }});
  if (!wrong.empty() && ctx.rank() != 0) ctx.note(fmt::format("{}: {}", mode.name, wrong));
}

void run(CheckContext& ctx) {
  std::vector<std::string> refused;
  for (const Mode& mode : kModes) {
    const std::string why = refusal(ctx, mode);
    if (!why.empty()) {
      refused.push_back(why);
      continue;
    }
    run_mode(ctx, mode);
  }
  if (refused.size() == std::size(kModes))
    throw CheckSkipped("the filesystem refuses " + fmt::format("{}", fmt::join(refused, "; ")));
  for (const std::string& why : refused) ctx.note("not tested, refused: " + why);
}

const CheckRegistration check({
    .id = "shared.punch-hole",
    .summary = "a range punched or zeroed by fallocate reads zero through other clients' cached mappings",
    .measures_level = true,
    .distinct_clients = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
