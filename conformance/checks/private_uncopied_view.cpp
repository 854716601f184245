// private.uncopied-view: what a MAP_PRIVATE mapping shows, in pages it has
// not copied, after another client writes the file. POSIX leaves this open
// (Linux on one node shows the new data; a distributed filesystem may keep
// the old), so it is reported as INFO. A torn page, part old and part new
// after the writer finished, is a FAIL: no order of whole writes produces it.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "check.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"

namespace dmmap::conform {
namespace {

constexpr int kWriter = 0;
constexpr std::uint8_t kOld = 0x33, kNew = 0xCC;

// "sees new", "sees old", or "" for a torn page (recorded as a failure).
std::string classify(const std::uint8_t* p, std::size_t size, const std::string& which) {
  const std::size_t fresh = count_equal(p, size, kNew), stale = count_equal(p, size, kOld);
  if (fresh == size) return "sees new";
  if (stale == size) return "sees old";
  ADD_FAILURE() << fmt::format("{}: torn page, {} bytes new, {} old, {} neither", which, fresh, stale,
                               size - fresh - stale);
  return "";
}

void run(CheckContext& ctx) {
  const std::size_t page = page_size(), size = 2 * page;
  const auto file = ctx.path("uncopied");
  if (ctx.rank() == 0) create_file(file, size, kOld);
  ctx.barrier();

  Fd fd = open_file(file, O_RDWR);
  Mapping priv(fd.get(), size, PROT_READ, MAP_PRIVATE);
  const bool writer = ctx.rank() == kWriter;
  if (!writer) {  // page 0 read (mapped), page 1 untouched
    EXPECT_EQ(count_equal(priv.data(), page, kOld), page);
  }
  ctx.barrier();
  if (writer) {
    pwrite_exact(fd.get(), std::vector<std::uint8_t>(size, kNew).data(), size, 0);
    fsync_file(fd.get());
  }
  ctx.barrier();
  if (!writer) {
    const std::string read = classify(priv.data(), page, "page read before the write");
    const std::string untouched = classify(priv.data() + page, page, "page untouched before the write");
    if (!read.empty() && !untouched.empty())
      ctx.informational(fmt::format("uncopied private pages under a remote writer: page read before {}, "
                                    "page untouched before {}",
                                    read, untouched));
  }
  ctx.barrier();
}

const CheckRegistration check({
    .id = "private.uncopied-view",
    .summary = "uncopied MAP_PRIVATE pages under a remote writer: new or old is INFO, a torn page FAILs",
    .distinct_clients = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
