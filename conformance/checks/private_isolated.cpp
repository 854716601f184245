// private.isolated: stores into a MAP_PRIVATE mapping never reach the file,
// another client, or the parent of a fork child (the seed HLD's case 3).
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>

#include "check.hpp"
#include "dmmap/probe/child.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"

namespace dmmap::conform {
namespace {

constexpr std::uint8_t kOriginal = 0x11;
std::uint8_t own_value(int rank) { return static_cast<std::uint8_t>(0x40 + rank); }
std::uint8_t child_value(int rank) { return static_cast<std::uint8_t>(0xC0 + rank); }

// Who wrote a byte we should not see, for the failure message.
std::string culprit(std::uint8_t byte) {
  if (byte >= 0xC0) return fmt::format("the fork child of rank {}", byte - 0xC0);
  if (byte >= 0x40) return fmt::format("rank {}", byte - 0x40);
  return fmt::format("nobody (0x{:02x})", byte);
}

// Expects every byte of [p, p+size) to be `value`, naming what was found instead.
void expect_all(const std::uint8_t* p, std::size_t size, std::uint8_t value, const std::string& where) {
  for (std::size_t i = 0; i < size; ++i) {
    const std::uint8_t byte = p[i];
    if (byte != value) {
      ADD_FAILURE() << fmt::format("{}: byte {} is 0x{:02x}, a private store of {}, expected 0x{:02x}", where, i, byte,
                                   culprit(byte), value);
      return;
    }
  }
}

// A fork child stores into its copy of the private mapping and exits.
void store_in_fork_child(const Mapping& priv, std::uint8_t value) {
  AsyncChild child = AsyncChild::fork([&] {
    std::memset(priv.data(), value, priv.size());
    ::msync(priv.data(), priv.size(), MS_SYNC);
    return 0;
  });
  const ChildOutcome& end = child.wait();
  ASSERT_NE(end.kind, ChildOutcome::Kind::spawn_failed) << "fork: " << end.describe();
  EXPECT_TRUE(end.exited_with(0)) << "fork child ended badly: " << end.describe();
}

void run(CheckContext& ctx) {
  const std::size_t page = page_size(), size = 2 * page;
  const auto file = ctx.path("private");
  if (ctx.rank() == 0) create_file(file, size, kOriginal);
  ctx.barrier();

  Fd fd = open_file(file, O_RDWR);
  Mapping priv(fd.get(), size, PROT_READ | PROT_WRITE, MAP_PRIVATE);
  expect_all(priv.data(), size, kOriginal, "private mapping before any store");
  ctx.barrier();

  // Every rank copies page 0 by storing its own value; page 1 stays uncopied.
  std::memset(priv.data(), own_value(ctx.rank()), page);
  priv.sync();  // msync of a private mapping must not write anything back
  store_in_fork_child(priv, child_value(ctx.rank()));
  ctx.barrier();

  expect_all(priv.data(), page, own_value(ctx.rank()), "own copied page after a fork child's stores");
  expect_all(priv.data() + page, page, kOriginal, "uncopied page of the private mapping");
  auto bytes = pread_up_to(fd.get(), size, 0);
  expect_all(bytes.data(), bytes.size(), kOriginal, "file read with pread");
  EXPECT_EQ(bytes.size(), size) << "file size changed";
  Mapping shared(fd.get(), size, PROT_READ, MAP_SHARED);
  expect_all(shared.data(), size, kOriginal, "file seen through a MAP_SHARED mapping");
  ctx.barrier();

  // Close-to-open: a fresh open sees the original too.
  Fd again = open_file(file, O_RDONLY);
  auto fresh = pread_up_to(again.get(), size, 0);
  expect_all(fresh.data(), fresh.size(), kOriginal, "file after reopening");
  ctx.barrier();
}

const CheckRegistration check({
    .id = "private.isolated",
    .summary = "MAP_PRIVATE stores (also a fork child's) never reach the file or another client",
    .quick = true,
    .distinct_clients = true,
    .forks = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
