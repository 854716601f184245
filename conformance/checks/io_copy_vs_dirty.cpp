// io.copy-vs-dirty: rank 0 dirties pages of a file through its mapping and
// does not msync; every other client copies the file with the kernel's copy
// paths, which read the page cache (or the server) without a user buffer:
// copy_file_range(2) into a file of its own, sendfile(2) into a memory file,
// splice(2) into a pipe. Each copy must carry rank 0's bytes (the LU-19254
// class: splice read zeros where a dirty mapped page was). Graded on the
// level ladder (ladder.hpp), each way on a file of its own. A way some rank's
// filesystem refuses (tried first on a scratch file) is noted, not tested.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include "check.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"
#include "ladder.hpp"

namespace dmmap::conform {
namespace {

constexpr std::size_t kPages = 3;

enum class Way { copy_file_range, sendfile, splice };
const char* name(Way w) {
  switch (w) {
    case Way::copy_file_range: return "copy_file_range";
    case Way::sendfile: return "sendfile";
    case Way::splice: return "splice";
  }
  return "?";
}

std::system_error failure(const char* what) { return std::system_error(errno, std::generic_category(), what); }

// Copies `size` bytes of `from` into a file of this rank's own through the
// kernel, and returns what arrived (what a program reading the copy sees).
std::vector<std::uint8_t> copy_through(Way way, int from, std::size_t size, const std::filesystem::path& to_path) {
  if (way == Way::splice) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw failure("pipe2");
    const Fd out(fds[0]), in(fds[1]);
    std::vector<std::uint8_t> got;
    loff_t offset = 0;
    while (got.size() < size) {
      const ssize_t n = ::splice(from, &offset, in.get(), nullptr, size - got.size(), 0);
      if (n < 0) throw failure("splice");
      if (n == 0) break;
      std::vector<std::uint8_t> chunk(static_cast<std::size_t>(n));
      if (::read(out.get(), chunk.data(), chunk.size()) != n) throw failure("read from the pipe");
      got.insert(got.end(), chunk.begin(), chunk.end());
    }
    return got;
  }
  // sendfile's destination is a memory file: what it tests is the read side.
  const Fd to = way == Way::sendfile ? Fd(::memfd_create("dmmap-sendfile", MFD_CLOEXEC))
                                     : open_file(to_path, O_RDWR | O_CREAT | O_TRUNC);
  if (!to) throw failure("memfd_create");
  std::size_t done = 0;
  while (done < size) {
    ssize_t n;
    if (way == Way::copy_file_range) {
      loff_t in_off = static_cast<loff_t>(done);
      n = ::copy_file_range(from, &in_off, to.get(), nullptr, size - done, 0);
    } else {
      off_t in_off = static_cast<off_t>(done);
      n = ::sendfile(to.get(), from, &in_off, size - done);
    }
    if (n < 0) throw failure(name(way));
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return pread_up_to(to.get(), size, 0);
}

void run_way(CheckContext& ctx, Way way, std::uint8_t value) {
  const std::size_t size = kPages * page_size();
  const auto file = ctx.path(fmt::format("dirty-{}", name(way)));
  const auto copy = ctx.path(fmt::format("copy-{}-rank{}", name(way), ctx.rank()));
  if (ctx.rank() == 0) create_file(file, size, 0);
  ctx.barrier();
  std::string wrong;
  climb_file(ctx, file,
             {.what = fmt::format("mapped store by rank 0 -> {} by rank {}", name(way), ctx.rank()),
              .length = size,
              .prime = [&](FileView& v) { EXPECT_EQ(count_equal(v.map.data(), size, 0), size) << "new file not zero"; },
              .make = [&](FileView& v) { std::memset(v.map.data(), value, size); },
              .sync = [](FileView& v) { v.map.sync(); },
              .seen =
                  [&](const FileView& v, Level) {
                    const auto got = copy_through(way, v.fd.get(), size, copy);
                    const std::size_t equal = count_equal(got.data(), got.size(), value);
                    wrong = equal == size ? ""
                                          : fmt::format("{} of {} copied bytes are rank 0's ({} arrived)", equal, size,
                                                        got.size());
                    return wrong.empty();
                  }});
  if (!wrong.empty() && ctx.rank() != 0) ctx.note(fmt::format("{}: {}", name(way), wrong));
  if (ctx.rank() != 0) std::filesystem::remove(copy);
}

// "" if every rank's filesystem takes this way of copying (a page of a
// scratch file), else the first refusal: copy_file_range needs the
// destination's filesystem to take spliced writes, which not all do.
std::string refusal(CheckContext& ctx, Way way) {
  const auto probe = ctx.path(fmt::format("probe-{}", name(way)));
  if (ctx.rank() == 0) create_file(probe, page_size(), 1);
  ctx.barrier();
  std::string why;
  try {
    const Fd from = open_file(probe, O_RDONLY);
    copy_through(way, from.get(), page_size(), ctx.path(fmt::format("probe-{}-rank{}", name(way), ctx.rank())));
  } catch (const std::system_error& e) {
    why = fmt::format("rank {}: {}", ctx.rank(), e.what());
  }
  std::filesystem::remove(ctx.path(fmt::format("probe-{}-rank{}", name(way), ctx.rank())));
  std::string first;
  for (const std::string& w : ctx.allgather(why))
    if (first.empty()) first = w;
  if (ctx.rank() == 0) std::filesystem::remove(probe);
  return first;
}

void run(CheckContext& ctx) {
  std::uint8_t value = 0x71;
  for (Way way : {Way::copy_file_range, Way::sendfile, Way::splice}) {
    if (const std::string why = refusal(ctx, way); !why.empty()) {
      ctx.note(fmt::format("{} not tested, refused: {}", name(way), why));
      continue;
    }
    run_way(ctx, way, value++);
  }
}

const CheckRegistration check({
    .id = "io.copy-vs-dirty",
    .summary = "copy_file_range, sendfile and splice of pages dirtied through another client's mapping",
    .measures_level = true,
    .distinct_clients = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
