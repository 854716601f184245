// shared.store-visible: when does a store by one client reach another client
// that already has the page mapped and cached? (The seed HLD's case 2.)
//
// The writer stores; every other rank grades it on the level ladder
// (ladder.hpp): through its existing mapping after a barrier (strict), after
// the writer's msync/fsync (msync), and after both sides closed and the
// reader mapped afresh (close-to-open).
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

enum class Writer { store, pwrite };

struct Scenario {
  int writer_rank;
  Writer how;
  std::uint8_t value;
};

std::string label(const Scenario& s, int reader) {
  return fmt::format("{} by rank {} -> mapping of rank {}", s.how == Writer::store ? "mapped store" : "pwrite",
                     s.writer_rank, reader);
}

void run_scenario(CheckContext& ctx, const Scenario& s) {
  const auto file = ctx.path(fmt::format("visible-{}-{}", s.how == Writer::store ? "store" : "pwrite", s.writer_rank));
  if (ctx.rank() == 0) create_file(file, page_size(), 0);
  ctx.barrier();
  const std::string what = label(s, ctx.rank());
  climb_file(
      ctx, file,
      {.what = what,
       .writers = {s.writer_rank},
       .prime =
           [](FileView& v) {
             // Every client has the page mapped and cached before the store.
             EXPECT_EQ(count_equal(v.map.data(), v.map.size(), 0), v.map.size())
                 << "the new file's zero page is not what this client sees";
           },
       .make =
           [&](FileView& v) {
             if (s.how == Writer::store)
               std::memset(v.map.data(), s.value, v.map.size());
             else
               pwrite_exact(v.fd.get(), std::vector<std::uint8_t>(v.map.size(), s.value).data(), v.map.size(), 0);
           },
       .sync = [&](FileView& v) { s.how == Writer::store ? v.map.sync() : fsync_file(v.fd.get()); },
       // The whole page shows the new value; a torn page is noted.
       .seen =
           [&](const FileView& v, Level rung) {
             const std::size_t equal = count_equal(v.map.data(), v.map.size(), s.value);
             if (equal != 0 && equal != v.map.size())
               ctx.note(
                   fmt::format("{}: torn page at {} ({} of {} bytes new)", what, to_string(rung), equal, v.map.size()));
             return equal == v.map.size();
           }});
}

void run(CheckContext& ctx) {
  std::uint8_t value = 0x51;
  // Both directions, and a pwrite() writer against a cached mapping.
  for (int writer : {0, 1})
    for (Writer how : {Writer::store, Writer::pwrite}) run_scenario(ctx, {writer, how, value++});
}

const CheckRegistration check({
    .id = "shared.store-visible",
    .summary = "a store (mapped or pwrite) is seen through another client's already-cached MAP_SHARED mapping",
    .measures_level = true,
    .quick = true,
    .distinct_clients = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
