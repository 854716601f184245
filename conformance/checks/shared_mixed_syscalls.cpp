// shared.mixed-syscalls: mappings and read/write system calls are views of one
// file. A store through one client's mapping is read by pread() on another
// client; a pwrite() by one client is read through another client's mapping
// that already caches the page. Levels on the ladder, as in shared.store-visible.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstring>

#include "check.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"
#include "ladder.hpp"

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

// Whether this reader sees the new value on the whole page, through pread()
// or through its mapping.
bool sees(const Scenario& s, const FileView& v) {
  const std::size_t page = v.map.size();
  if (s.way == Way::store_then_pread) {
    auto bytes = pread_up_to(v.fd.get(), page, 0);
    return bytes.size() == page && count_equal(bytes.data(), page, s.value) == page;
  }
  return count_equal(v.map.data(), page, s.value) == page;
}

void run_scenario(CheckContext& ctx, const Scenario& s) {
  const std::size_t page = page_size();
  const auto file = ctx.path(fmt::format("mixed-{}-{}", static_cast<int>(s.way), s.writer));
  if (ctx.rank() == 0) create_file(file, page, 0);
  ctx.barrier();
  const bool store = s.way == Way::store_then_pread;
  climb_file(ctx, file,
             {.what = s.label(ctx.rank()),
              .writers = {s.writer},
              .prime =
                  [&](FileView& v) {
                    // Every client caches the page, through the mapping and through read().
                    EXPECT_EQ(count_equal(v.map.data(), page, 0), page);
                    EXPECT_EQ(pread_up_to(v.fd.get(), page, 0).size(), page);
                  },
              .make =
                  [&](FileView& v) {
                    if (store)
                      std::memset(v.map.data(), s.value, page);
                    else
                      pwrite_exact(v.fd.get(), std::vector<std::uint8_t>(page, s.value).data(), page, 0);
                  },
              .sync = [&](FileView& v) { store ? v.map.sync() : fsync_file(v.fd.get()); },
              .seen = [&](const FileView& v, Level) { return sees(s, v); }});
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
    .measures_level = true,
    .distinct_clients = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
