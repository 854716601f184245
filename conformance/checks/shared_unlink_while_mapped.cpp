// shared.unlink-while-mapped: one client unlinks a file the others have
// mapped. POSIX keeps the inode alive while mapped, so the mappings stay
// readable and writable, also pages never faulted in before the unlink
// (NFS's "silly rename" exists for this; a server that frees the object on
// unlink turns those faults into SIGBUS).
//
// Those later faults must reach the filesystem: the creator drops its cached
// pages, every client maps with readahead off (MADV_RANDOM, FADV_RANDOM) and
// touches page 0 only, and mincore() shows whether pages 1.. are resident
// before the unlink. A client that holds them anyway (tmpfs keeps every page)
// shows nothing about the filesystem; if no client can, the check is a SKIP.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>

#include "check.hpp"
#include "dmmap/probe/fault_probe.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"
#include "dmmap/rank_set.hpp"

namespace dmmap::conform {
namespace {

constexpr std::size_t kPages = 8;
constexpr std::uint8_t kFill = 0x3C;

// Loads and stores every page after the unlink; failures are recorded.
void use_after_unlink(CheckContext& ctx, const Mapping& map) {
  const std::size_t page = page_size();
  for (std::size_t p = 0; p < kPages; ++p) {
    const ProbeResult r = probe_load(map.data() + p * page + 17);
    if (!(r.ok() && r.value == kFill))
      ADD_FAILURE() << fmt::format("load from page {} after the unlink: {} (0x{:02x})", p, r.describe(), r.value);
    const std::uint8_t mine = static_cast<std::uint8_t>(0x80 + ctx.rank());
    const ProbeResult w = probe_store(map.data() + p * page + 64 + static_cast<std::size_t>(ctx.rank()), mine);
    if (!w.ok()) ADD_FAILURE() << fmt::format("store to page {} after the unlink: {}", p, w.describe());
    if (w.ok()) {
      EXPECT_EQ(static_cast<std::uint8_t>(map.data()[p * page + 64 + static_cast<std::size_t>(ctx.rank())]), mine);
    }
  }
  if (::msync(map.data(), map.size(), MS_SYNC) != 0)
    ADD_FAILURE() << "msync after the unlink: " << std::strerror(errno);
}

void run(CheckContext& ctx) {
  const std::size_t page = page_size(), size = kPages * page;
  const auto file = ctx.path("doomed");
  const int unlinker = ctx.size() - 1;
  if (ctx.rank() == 0) {
    Fd created = create_file(file, size, kFill);
    fsync_file(created.get());
    ::posix_fadvise(created.get(), 0, 0, POSIX_FADV_DONTNEED);  // the creator's cache is no reader's evidence
  }
  ctx.barrier();

  Fd fd = open_file(file, O_RDWR);
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_RANDOM);
  Mapping map(fd.get(), size, PROT_READ | PROT_WRITE, MAP_SHARED);
  if (::madvise(map.data(), size, MADV_RANDOM) != 0) ADD_FAILURE() << "madvise(MADV_RANDOM): " << std::strerror(errno);
  fd.reset();  // only the mapping keeps the file alive
  if (!(probe_load(map.data()).ok())) ADD_FAILURE() << "load from page 0 before the unlink failed";
  const std::size_t resident = map.resident(1, kPages - 1);
  ctx.barrier();
  // Readers whose later pages were not resident: their faults after the unlink reach the filesystem.
  const auto cold = ctx.allgather(ctx.rank() != unlinker && resident == 0 ? "1" : "0");
  std::vector<int> proving;
  for (std::size_t r = 0; r < cold.size(); ++r)
    if (cold[r] == "1") proving.push_back(static_cast<int>(r));

  if (ctx.rank() == unlinker) {
    map.reset();
    if (::unlink(file.c_str()) != 0) ADD_FAILURE() << "unlink: " << std::strerror(errno);
  }
  ctx.barrier();
  if (ctx.rank() != unlinker) use_after_unlink(ctx, map);
  if (ctx.rank() == 0 && !proving.empty())
    ctx.note(
        fmt::format("pages 1-{} were not resident before the unlink on ranks {}", kPages - 1, format_ranks(proving)));
  if (ctx.rank() != unlinker && resident > 0)
    ctx.note(fmt::format("{} of {} later pages were resident before the unlink: this rank's loads show only its cache",
                         resident, kPages - 1));
  // A failure stands; without one, no reader's loads showed anything.
  const bool clean = ctx.all(!::testing::Test::HasFailure());
  if (proving.empty() && clean)
    throw CheckSkipped(fmt::format("no reader could keep pages 1-{} out of its cache before the unlink (readahead "
                                   "off, mincore): the later loads would not reach the filesystem",
                                   kPages - 1));
}

const CheckRegistration check({
    .id = "shared.unlink-while-mapped",
    .summary = "a file unlinked by another client stays readable and writable through existing mappings",
    .distinct_clients = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
