// io.direct-vs-mapped: O_DIRECT I/O, which bypasses the reader's page cache,
// against pages another client holds in its mapping. (1) Rank 0 dirties a
// page through its mapping without msync; every other client reads it with
// an O_DIRECT pread: the filesystem must write the dirty page back (or serve
// it) before the direct read. (2) Every other client has the page mapped and
// cached; rank 1 writes it with an O_DIRECT pwrite: the cached pages must be
// dropped. Graded on the level ladder (ladder.hpp). SKIP where any rank's
// filesystem refuses O_DIRECT.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>

#include "check.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"
#include "ladder.hpp"

namespace dmmap::conform {
namespace {

// A page-aligned buffer for O_DIRECT.
struct AlignedPage {
  AlignedPage() {
    void* p = nullptr;
    if (::posix_memalign(&p, page_size(), page_size()) != 0) throw std::bad_alloc();
    data.reset(static_cast<std::uint8_t*>(p));
  }
  struct Free {
    void operator()(std::uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<std::uint8_t, Free> data;
};

std::system_error failure(const std::string& what) { return std::system_error(errno, std::generic_category(), what); }

// "" if every rank can open the file with O_DIRECT and read a page; else the first refusal.
std::string refusal(CheckContext& ctx, const std::filesystem::path& file) {
  std::string why;
  const int fd = ::open(file.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
  if (fd < 0) {
    why = fmt::format("rank {}: open with O_DIRECT: {}", ctx.rank(), std::strerror(errno));
  } else {
    const Fd owned(fd);
    AlignedPage buffer;
    if (::pread(fd, buffer.data.get(), page_size(), 0) < 0)
      why = fmt::format("rank {}: O_DIRECT pread: {}", ctx.rank(), std::strerror(errno));
  }
  for (const std::string& w : ctx.allgather(why))
    if (!w.empty()) return w;
  return "";
}

bool direct_read_sees(const std::filesystem::path& file, std::uint8_t value) {
  const Fd fd = open_file(file, O_RDONLY | O_DIRECT);
  AlignedPage buffer;
  const ssize_t n = ::pread(fd.get(), buffer.data.get(), page_size(), 0);
  if (n < 0) throw failure("O_DIRECT pread");
  return static_cast<std::size_t>(n) == page_size() &&
         count_equal(buffer.data.get(), page_size(), value) == page_size();
}

void direct_write(const std::filesystem::path& file, std::uint8_t value) {
  const Fd fd = open_file(file, O_WRONLY | O_DIRECT);
  AlignedPage buffer;
  std::memset(buffer.data.get(), value, page_size());
  if (::pwrite(fd.get(), buffer.data.get(), page_size(), 0) != static_cast<ssize_t>(page_size()))
    throw failure("O_DIRECT pwrite");
}

void run(CheckContext& ctx) {
  const auto read_file = ctx.path("direct-read");
  const auto write_file = ctx.path("direct-write");
  if (ctx.rank() == 0) {
    create_file(read_file, page_size(), 0);
    create_file(write_file, page_size(), 0);
  }
  ctx.barrier();
  if (const std::string why = refusal(ctx, read_file); !why.empty()) throw CheckSkipped("O_DIRECT refused: " + why);

  constexpr std::uint8_t kStored = 0x81, kWritten = 0x82;
  climb_file(ctx, read_file,
             {.what = fmt::format("mapped store by rank 0 -> O_DIRECT pread by rank {}", ctx.rank()),
              .prime = [](FileView& v) { EXPECT_EQ(count_equal(v.map.data(), page_size(), 0), page_size()); },
              .make = [&](FileView& v) { std::memset(v.map.data(), kStored, page_size()); },
              .sync = [](FileView& v) { v.map.sync(); },
              .seen = [&](const FileView&, Level) { return direct_read_sees(read_file, kStored); }});

  // Rank 1 writes; every other rank (rank 0 included) looks through its cached mapping.
  climb_file(ctx, write_file,
             {.what = fmt::format("O_DIRECT pwrite by rank 1 -> mapping of rank {}", ctx.rank()),
              .writers = {1},
              .prime = [](FileView& v) { EXPECT_EQ(count_equal(v.map.data(), page_size(), 0), page_size()); },
              .make = [&](FileView&) { direct_write(write_file, kWritten); },
              .sync = [](FileView& v) { fsync_file(v.fd.get()); },
              .seen = [&](const FileView& v,
                          Level) { return count_equal(v.map.data(), page_size(), kWritten) == page_size(); }});
}

const CheckRegistration check({
    .id = "io.direct-vs-mapped",
    .summary = "O_DIRECT reads see another client's dirty mapped page; O_DIRECT writes reach cached mappings",
    .measures_level = true,
    .distinct_clients = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
