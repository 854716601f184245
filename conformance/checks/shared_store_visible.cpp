// shared.store-visible: when does a store by one client reach another client
// that already has the page mapped and cached? (The seed HLD's case 2.)
//
// The writer stores; every other rank looks through its existing mapping
// after a barrier (strict), after the writer's msync/fsync (msync), and after
// both sides closed and the reader mapped afresh (close-to-open).
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

class Observer {
 public:
  Observer(CheckContext& ctx, const Scenario& s) : ctx_(ctx), s_(s) {}

  // A reader looks at its mapping; the first level at which the whole page
  // shows the new value is the level this reader reached.
  void look(const Mapping& map, Level level) {
    if (is_writer() || seen_) return;
    const std::size_t equal = count_equal(map.data(), map.size(), s_.value);
    if (equal == map.size()) {
      seen_ = level;
    } else if (equal != 0) {
      ctx_.note(fmt::format("{}: torn page at {} ({} of {} bytes new)", label(s_, ctx_.rank()), to_string(level), equal,
                            map.size()));
    }
  }
  bool is_writer() const { return ctx_.rank() == s_.writer_rank; }
  void report() {
    if (!is_writer()) ctx_.reached(seen_.value_or(Level::none), label(s_, ctx_.rank()));
  }

 private:
  CheckContext& ctx_;
  Scenario s_;
  std::optional<Level> seen_;
};

void run_scenario(CheckContext& ctx, const Scenario& s) {
  const std::size_t page = page_size();
  const auto file = ctx.path(fmt::format("visible-{}-{}", s.how == Writer::store ? "store" : "pwrite", s.writer_rank));
  if (ctx.rank() == 0) create_file(file, page, 0);
  ctx.barrier();

  Observer observer(ctx, s);
  std::optional<Fd> fd = open_file(file, O_RDWR);
  std::optional<Mapping> map{std::in_place, fd->get(), page, PROT_READ | PROT_WRITE, MAP_SHARED};
  // Every client has the page mapped and cached before the store.
  EXPECT_EQ(count_equal(map->data(), page, 0), page) << "the new file's zero page is not what this client sees";
  ctx.barrier();

  if (observer.is_writer()) {
    if (s.how == Writer::store) {
      std::memset(map->data(), s.value, page);
    } else {
      std::vector<std::uint8_t> data(page, s.value);
      pwrite_exact(fd->get(), data.data(), page, 0);
    }
  }
  ctx.barrier();
  observer.look(*map, Level::strict);
  ctx.barrier();  // readers have looked before the writer synchronises

  if (observer.is_writer()) s.how == Writer::store ? map->sync() : fsync_file(fd->get());
  ctx.barrier();
  observer.look(*map, Level::msync);
  ctx.barrier();

  map.reset();
  fd.reset();
  ctx.barrier();  // the writer has closed: NFS-style close-to-open from here
  if (!observer.is_writer()) {
    Fd fresh = open_file(file, O_RDONLY);
    Mapping again(fresh.get(), page, PROT_READ, MAP_SHARED);
    observer.look(again, Level::close_to_open);
  }
  observer.report();
  ctx.barrier();
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
    .min_ranks = 2,
    .measures_level = true,
    .quick = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
