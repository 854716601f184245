// shared.unlink-while-mapped: one client unlinks a file the others have
// mapped. POSIX keeps the inode alive while mapped, so the mappings stay
// readable and writable, also pages never faulted in before the unlink
// (NFS's "silly rename" exists for this; a server that frees the object on
// unlink turns those faults into SIGBUS).
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>

#include "check.hpp"
#include "dmmap/probe/fault_probe.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"

namespace dmmap::conform {
namespace {

constexpr std::size_t kPages = 8;
constexpr std::uint8_t kFill = 0x3C;

void run(CheckContext& ctx) {
  const std::size_t page = page_size(), size = kPages * page;
  const auto file = ctx.path("doomed");
  const int unlinker = ctx.size() - 1;
  if (ctx.rank() == 0) create_file(file, size, kFill);
  ctx.barrier();

  Fd fd = open_file(file, O_RDWR);
  Mapping map(fd.get(), size, PROT_READ | PROT_WRITE, MAP_SHARED);
  fd.reset();  // only the mapping keeps the file alive
  if (!(probe_load(map.data()).ok())) ADD_FAILURE() << "load from page 0 before the unlink failed";
  ctx.barrier();

  if (ctx.rank() == unlinker) {
    map.reset();
    if (::unlink(file.c_str()) != 0) ADD_FAILURE() << "unlink: " << std::strerror(errno);
  }
  ctx.barrier();
  if (ctx.rank() != unlinker) {
    // Pages 1.. were never touched on this client: they are faulted in now.
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
    if (::msync(map.data(), size, MS_SYNC) != 0) ADD_FAILURE() << "msync after the unlink: " << std::strerror(errno);
  }
  ctx.barrier();
}

const CheckRegistration check({
    .id = "shared.unlink-while-mapped",
    .summary = "a file unlinked by another client stays readable and writable through existing mappings",
    .distinct_clients = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
