// shared.extend-by-write: every other client has mapped the file beyond its
// EOF (a load there is SIGBUS); rank 0 then extends the file by writing, not
// by ftruncate: once with O_APPEND, once with a pwrite() past the end that
// leaves a hole. The other clients' loads through the mapping they already
// have must then succeed and show rank 0's data (and zeros in the hole):
// the new size has to reach them along with the data. Graded on the level
// ladder (ladder.hpp); every load survives SIGBUS (fault_probe.hpp).
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

#include "check.hpp"
#include "dmmap/probe/fault_probe.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"
#include "ladder.hpp"

namespace dmmap::conform {
namespace {

constexpr std::size_t kPages = 4;  // every view maps this much, far beyond the starting size

// The bytes [begin, end) of the file as this view loads them: the expected
// value from `data_from` on, zero before; "" or the first difference. One
// probe a page (nobody shrinks the file), then plain loads.
std::string first_wrong(const FileView& v, std::size_t begin, std::size_t data_from, std::size_t end,
                        std::uint8_t value) {
  for (std::size_t at = begin; at < end; at = (at / page_size() + 1) * page_size()) {
    const ProbeResult r = probe_load(v.map.data() + at);
    if (!r.ok()) return fmt::format("load at {} (page {}) gave {}", at, at / page_size(), r.describe());
    for (std::size_t i = at; i < std::min(end, (at / page_size() + 1) * page_size()); ++i) {
      const std::uint8_t want = i >= data_from ? value : 0;
      if (v.map.data()[i] != want)
        return fmt::format("byte {} is 0x{:02x}, expected 0x{:02x}", i, v.map.data()[i], want);
    }
  }
  return "";
}

struct Extension {
  std::string how;
  std::size_t old_size, offset, length;  // offset == old_size: appended; beyond it: a hole before the data
  std::uint8_t value;
  bool append;
};

void extend(const std::filesystem::path& file, const Extension& e, FileView& v) {
  const std::vector<std::uint8_t> data(e.length, e.value);
  if (!e.append) return pwrite_exact(v.fd.get(), data.data(), data.size(), static_cast<off_t>(e.offset));
  const Fd fd = open_file(file, O_WRONLY | O_APPEND);
  const ssize_t n = ::write(fd.get(), data.data(), data.size());
  if (n != static_cast<ssize_t>(data.size()))
    throw std::system_error(n < 0 ? errno : EIO, std::generic_category(), "write with O_APPEND");
}

void run_extension(CheckContext& ctx, const Extension& e) {
  const auto file = ctx.path(e.append ? "appended" : "written-past-eof");
  if (ctx.rank() == 0) create_file(file, e.old_size, 0);
  ctx.barrier();
  const std::size_t end = e.offset + e.length;
  std::string wrong;
  climb_file(ctx, file,
             {.what = fmt::format("{} by rank 0 -> mapping of rank {}", e.how, ctx.rank()),
              .length = kPages * page_size(),
              .prime =
                  [&](FileView& v) {  // the last page cached, the one beyond it known to be past EOF
                    const ProbeResult inside = probe_load(v.map.data() + e.old_size - 1);
                    EXPECT_TRUE(inside.ok()) << "load inside the file gave " << inside.describe();
                    const ProbeResult beyond = probe_load(v.map.data() + (end - 1) / page_size() * page_size());
                    if (beyond.ok()) ctx.note("a load beyond EOF did not give SIGBUS");
                  },
              .make = [&](FileView& v) { extend(file, e, v); },
              .sync = [](FileView& v) { fsync_file(v.fd.get()); },
              .seen =
                  [&](const FileView& v, Level rung) {
                    const std::string now = first_wrong(v, e.old_size, e.offset, end, e.value);
                    if (wrong.empty()) wrong = now.empty() ? "" : fmt::format("at {}: {}", to_string(rung), now);
                    return now.empty();
                  }});
  if (!wrong.empty() && ctx.rank() != 0) ctx.note(fmt::format("{}: {}", e.how, wrong));
}

void run(CheckContext& ctx) {
  const std::size_t page = page_size();
  run_extension(ctx, {"write with O_APPEND", page / 2, page / 2, page + page / 2, 0x61, true});
  run_extension(ctx, {"pwrite past EOF", page / 2, 2 * page + 100, page, 0x62, false});
}

const CheckRegistration check({
    .id = "shared.extend-by-write",
    .summary = "a file extended by write (O_APPEND, pwrite past EOF) shows the data in mappings made beyond EOF",
    .measures_level = true,
    .distinct_clients = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
