// shared.mixed-syscalls: mappings and read/write system calls are views of one
// file. A store through one client's mapping is read by pread() on another
// client; a pwrite() by one client is read through another client's mapping
// that already caches the page. Levels as in shared.store-visible.
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

enum class Way { store_then_pread, pwrite_then_load };

struct Scenario {
  Way way;
  int writer;
  std::uint8_t value;
  std::string label(int reader) const {
    return way == Way::store_then_pread ? fmt::format("mapped store by rank {} -> pread by rank {}", writer, reader)
                                        : fmt::format("pwrite by rank {} -> mapping of rank {}", writer, reader);
  }
};

// What this reader sees now: true when the whole page holds the new value.
bool sees(const Scenario& s, int fd, const Mapping& map) {
  const std::size_t page = map.size();
  if (s.way == Way::store_then_pread) {
    auto bytes = pread_exact(fd, page, 0);
    return bytes.size() == page && count_equal(reinterpret_cast<const std::byte*>(bytes.data()), page, s.value) == page;
  }
  return count_equal(map.data(), page, s.value) == page;
}

void run_scenario(CheckContext& ctx, const Scenario& s) {
  const std::size_t page = page_size();
  const auto file = ctx.path(fmt::format("mixed-{}-{}", static_cast<int>(s.way), s.writer));
  if (ctx.rank() == 0) create_file(file, page, 0);
  ctx.barrier();
  const bool writer = ctx.rank() == s.writer;

  std::optional<Fd> fd = open_file(file, O_RDWR);
  Mapping map(fd->get(), page, PROT_READ | PROT_WRITE, MAP_SHARED);
  // Every client caches the page, through the mapping and through read().
  EXPECT_EQ(count_equal(map.data(), page, 0), page);
  EXPECT_EQ(pread_exact(fd->get(), page, 0).size(), page);
  ctx.barrier();

  if (writer) {
    if (s.way == Way::store_then_pread)
      std::memset(map.data(), s.value, page);
    else
      pwrite_exact(fd->get(), std::vector<std::uint8_t>(page, s.value).data(), page, 0);
  }
  ctx.barrier();
  std::optional<Level> level;
  if (!writer && sees(s, fd->get(), map)) level = Level::strict;
  ctx.barrier();
  if (writer) s.way == Way::store_then_pread ? map.sync() : fsync_file(fd->get());
  ctx.barrier();
  if (!writer && !level && sees(s, fd->get(), map)) level = Level::msync;
  ctx.barrier();
  if (!writer && !level) {
    Fd fresh = open_file(file, O_RDWR);
    Mapping again(fresh.get(), page, PROT_READ, MAP_SHARED);
    if (sees(s, fresh.get(), again)) level = Level::close_to_open;
  }
  if (!writer) ctx.reached(level.value_or(Level::none), s.label(ctx.rank()));
  ctx.barrier();
}

void run(CheckContext& ctx) {
  run_scenario(ctx, {Way::store_then_pread, 0, 0x61});
  run_scenario(ctx, {Way::store_then_pread, 1, 0x62});
  run_scenario(ctx, {Way::pwrite_then_load, 0, 0x63});
  run_scenario(ctx, {Way::pwrite_then_load, 1, 0x64});
}

const CheckRegistration check({
    .id = "shared.mixed-syscalls",
    .summary = "a mapped store is read by pread elsewhere; a pwrite is seen through another's cached mapping",
    .min_ranks = 2,
    .measures_level = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
