// shared.metadata: what other clients' stat() says after mapped writes. A
// mapped store must advance the file's mtime (make, rsync and backup tools
// rely on it); an extension written through a mapping must show its size.
// Each is observed by every other client on its open descriptor after a
// barrier (strict), after the writer's msync (msync), and after reopening
// (close-to-open).
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <optional>
#include <system_error>

#include "check.hpp"
#include "dmmap/probe/mapping.hpp"
#include "dmmap/probe/files.hpp"

namespace dmmap::conform {
namespace {

constexpr int kWriter = 0;

struct stat stat_of(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw std::system_error(errno, std::generic_category(), "fstat");
  return st;
}

bool later(const timespec& a, const timespec& b) {
  return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

// Runs the writer's `store` and `sync`, observing `seen` at the three levels.
void observe(CheckContext& ctx, const std::filesystem::path& file, int fd, const std::string& what,
             const std::function<void()>& store, const std::function<void()>& sync,
             const std::function<bool(const struct stat&)>& seen) {
  const bool writer = ctx.rank() == kWriter;
  if (writer) store();
  ctx.barrier();
  std::optional<Level> level;
  if (!writer && seen(stat_of(fd))) level = Level::strict;
  ctx.barrier();
  if (writer) sync();
  ctx.barrier();
  if (!writer && !level && seen(stat_of(fd))) level = Level::msync;
  if (!writer && !level) {
    Fd fresh = open_file(file, O_RDONLY);
    if (seen(stat_of(fresh.get()))) level = Level::close_to_open;
  }
  if (!writer) ctx.reached(level.value_or(Level::none), fmt::format("{} by rank {}", what, kWriter));
  ctx.barrier();
}

void run(CheckContext& ctx) {
  const std::size_t page = page_size();
  const auto file = ctx.path("stat");
  if (ctx.rank() == 0) create_file(file, page, 0);
  ctx.barrier();
  Fd fd = open_file(file, O_RDWR);
  std::optional<Mapping> map{std::in_place, fd.get(), page, PROT_READ | PROT_WRITE, MAP_SHARED};
  const struct stat before = stat_of(fd.get());
  ctx.barrier();

  observe(
      ctx, file, fd.get(), "mtime after a mapped store",
      [&] {
        ::usleep(50000);  // beyond the kernel's coarse timestamp granularity
        std::memset(map->data(), 0x5A, page);
      },
      [&] { map->sync(); }, [&](const struct stat& st) { return later(st.st_mtim, before.st_mtim); });

  const std::size_t grown = 3 * page;
  observe(
      ctx, file, fd.get(), "size after an extension written through a mapping",
      [&] {
        if (::ftruncate(fd.get(), static_cast<off_t>(grown)) != 0)
          throw std::system_error(errno, std::generic_category(), "ftruncate");
        map.emplace(fd.get(), grown, PROT_READ | PROT_WRITE, MAP_SHARED);
        std::memset(map->data() + 2 * page, 0x5B, page);
      },
      [&] { map->sync(); }, [&](const struct stat& st) { return st.st_size == static_cast<off_t>(grown); });
}

const CheckRegistration check({
    .id = "shared.metadata",
    .summary = "other clients' stat() shows the mtime and size resulting from mapped writes",
    .min_ranks = 2,
    .measures_level = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
