// shared.truncate: rank 0 truncates a file every rank has mapped and cached.
// Loads beyond the new EOF (past the page holding it) must give SIGBUS on
// every client, loads inside must not; after rank 0 extends the file again,
// every client sees zero-filled pages, also in the old EOF page's tail.
// (The seed HLD: truncate revokes the whole-file lock and unmaps every client.)
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "check.hpp"
#include "dmmap/probe/fault_probe.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"

namespace dmmap::conform {
namespace {

constexpr std::uint8_t kFill = 0xAB;
constexpr std::size_t kPages = 4;

void truncate_to(int fd, std::size_t size) {
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0)
    throw std::system_error(errno, std::generic_category(), "ftruncate");
}

void expect_load(const Mapping& map, std::size_t offset, bool want_sigbus, const std::string& when) {
  const ProbeResult r = probe_load(map.data() + offset);
  if (want_sigbus) {
    if (r.signal != SIGBUS)
      ADD_FAILURE() << fmt::format("{}: load at {} (page {}) beyond EOF gave {} (value 0x{:02x}), not SIGBUS", when,
                                   offset, offset / page_size(), r.describe(), r.value);
  } else {
    if (!r.ok()) ADD_FAILURE() << fmt::format("{}: load at {} inside the file gave {}", when, offset, r.describe());
  }
}

void run(CheckContext& ctx) {
  const std::size_t page = page_size(), full = kPages * page, cut = page + page / 2;
  const auto file = ctx.path("truncated");
  if (ctx.rank() == 0) create_file(file, full, kFill);
  ctx.barrier();

  Fd fd = open_file(file, O_RDWR);
  Mapping map(fd.get(), full, PROT_READ | PROT_WRITE, MAP_SHARED);
  if (count_equal(map.data(), full, kFill) != full)
    ADD_FAILURE() << "before the truncate, the mapping does not show the file's bytes";
  ctx.barrier();

  if (ctx.rank() == 0) truncate_to(fd.get(), cut);
  ctx.barrier();
  expect_load(map, 0, false, "after truncate");
  expect_load(map, cut - 1, false, "after truncate");
  expect_load(map, cut + 10, false, "after truncate (the EOF page's tail)");
  expect_load(map, 2 * page, true, "after truncate");
  expect_load(map, 3 * page + 100, true, "after truncate");
  ctx.barrier();

  if (ctx.rank() == 0) truncate_to(fd.get(), full);
  ctx.barrier();
  const ProbeResult r = probe_load(map.data() + 3 * page);
  ASSERT_TRUE(r.ok()) << "after extending again, load in page 3 gave " << r.describe();
  if (count_equal(map.data(), cut, kFill) != cut) ADD_FAILURE() << "bytes inside the truncated size changed";
  if (count_equal(map.data() + cut, full - cut, 0) != full - cut)
    ADD_FAILURE() << "after extending again, the region past the old EOF is not zero-filled";
  ctx.barrier();
}

const CheckRegistration check({
    .id = "shared.truncate",
    .summary = "after a remote truncate, loads beyond EOF give SIGBUS; re-extended pages read zero",
    .quick = true,
    .distinct_clients = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
