// shared.metadata: what other clients' stat() says after mapped writes. A
// mapped store must advance the file's mtime (make, rsync and backup tools
// rely on it); an extension written through a mapping must show its size.
// Each is graded on the level ladder (ladder.hpp): every other client
// fstat()s its open descriptor after a barrier (strict), after the writer's
// msync (msync), and, once the writer has closed the file, a fresh open of
// it (close-to-open). The mapped store comes after a wait past the
// filesystem's timestamp granularity, measured before the checks run
// (RunProfile::timestamp_wait), so that a later mtime is possible at all.
// Both directions: a filesystem may update the mtime of one node's mapped
// stores and not another's (the cluster probe saw OCFS2 do so).
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <thread>

#include "check.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"
#include "ladder.hpp"

namespace dmmap::conform {
namespace {

struct stat stat_of(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw std::system_error(errno, std::generic_category(), "fstat");
  return st;
}

bool later(const timespec& a, const timespec& b) {
  return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

void run_writer(CheckContext& ctx, int writer) {
  const std::size_t page = page_size();
  const auto file = ctx.path(fmt::format("stat-{}", writer));
  if (ctx.rank() == 0) create_file(file, page, 0);
  ctx.barrier();
  const std::string by = fmt::format(" by rank {}", writer);
  struct stat before {};

  climb_file(ctx, file,
             {.what = "mtime after a mapped store" + by,
              .writers = {writer},
              .prime = [&](FileView& v) { before = stat_of(v.fd.get()); },
              .make =
                  [&](FileView& v) {
                    std::this_thread::sleep_for(ctx.params().profile.timestamp_wait());
                    std::memset(v.map.data(), 0x5A, page);
                  },
              .sync = [](FileView& v) { v.map.sync(); },
              .seen = [&](const FileView& v, Level) { return later(stat_of(v.fd.get()).st_mtim, before.st_mtim); }});

  const std::size_t grown = 3 * page;
  climb_file(
      ctx, file,
      {.what = "size after an extension written through a mapping" + by,
       .writers = {writer},
       .make =
           [&](FileView& v) {
             if (::ftruncate(v.fd.get(), static_cast<off_t>(grown)) != 0)
               throw std::system_error(errno, std::generic_category(), "ftruncate");
             v.map = Mapping(v.fd.get(), grown, PROT_READ | PROT_WRITE, MAP_SHARED);
             std::memset(v.map.data() + 2 * page, 0x5B, page);
           },
       .sync = [](FileView& v) { v.map.sync(); },
       .seen = [&](const FileView& v, Level) { return stat_of(v.fd.get()).st_size == static_cast<off_t>(grown); }});
}

void run(CheckContext& ctx) {
  for (int writer : {0, 1}) run_writer(ctx, writer);
}

const CheckRegistration check({
    .id = "shared.metadata",
    .summary = "other clients' stat() shows the mtime and size resulting from mapped writes",
    .measures_level = true,
    .distinct_clients = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
