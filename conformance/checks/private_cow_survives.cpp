// private.cow-survives: bytes a client has privately copied (MAP_PRIVATE,
// copy-on-write) are never reverted by another client's write to the same
// page, through pwrite or a MAP_SHARED store. The seed RFC's point: revoking a
// page must unmap page-cache pages only (unmap_mapping_range with
// even_cows = 0), never the anonymous copies, or the process silently loses
// its own stores.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstring>

#include "check.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"

namespace dmmap::conform {
namespace {

constexpr int kWriter = 0;
constexpr std::uint8_t kOriginal = 0x22, kRemote = 0xEE;
constexpr std::size_t kOwnBytes = 100;  // a partial store: the page is copied whole
std::uint8_t own_value(int rank) { return static_cast<std::uint8_t>(0x50 + rank); }

// The first byte of the copied page that is not what this client made it.
std::string reverted(const std::uint8_t* page, std::size_t size, std::uint8_t mine) {
  for (std::size_t i = 0; i < size; ++i) {
    const std::uint8_t b = page[i];
    const std::uint8_t want = i < kOwnBytes ? mine : kOriginal;
    if (b != want)
      return fmt::format("byte {} is 0x{:02x}, expected 0x{:02x}{}", i, b, want,
                         b == kRemote ? " (the remote writer's value: the private copy was reverted)" : "");
  }
  return "";
}

void run(CheckContext& ctx) {
  const std::size_t page = page_size(), size = 2 * page;
  const auto file = ctx.path("cow");
  if (ctx.rank() == 0) create_file(file, size, kOriginal);
  ctx.barrier();

  Fd fd = open_file(file, O_RDWR);
  Mapping priv(fd.get(), size, PROT_READ | PROT_WRITE, MAP_PRIVATE);
  Mapping shared(fd.get(), size, PROT_READ | PROT_WRITE, MAP_SHARED);
  const bool writer = ctx.rank() == kWriter;
  if (!writer) std::memset(priv.data(), own_value(ctx.rank()), kOwnBytes);  // copies page 0
  EXPECT_EQ(count_equal(priv.data() + page, page, kOriginal), page);        // page 1: mapped, not copied
  ctx.barrier();

  if (writer) {  // both pages, both ways: a mapped store flushed with msync, then pwrite
    std::memset(shared.data(), kRemote, size);
    shared.sync();
    pwrite_exact(fd.get(), std::vector<std::uint8_t>(size, kRemote).data(), size, 0);
    fsync_file(fd.get());
  }
  ctx.barrier();
  if (!writer) {
    const std::string what = reverted(priv.data(), page, own_value(ctx.rank()));
    if (!what.empty()) ADD_FAILURE() << "privately copied page after a remote write: " << what;
  }
  ctx.barrier();
}

const CheckRegistration check({
    .id = "private.cow-survives",
    .summary = "privately copied (MAP_PRIVATE) bytes are never reverted by a remote write",
    .quick = true,
    .distinct_clients = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
