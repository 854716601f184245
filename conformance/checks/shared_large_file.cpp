// shared.large-file: rank 0 stores, through a mapping, a span of a sparse
// file that crosses 4 GiB and is longer than a 2 MiB granule (so it crosses
// the lock or stripe boundaries of any filesystem whose granule is 2 MiB or
// less: 4 GiB is a multiple of every one). Every other client, with the
// window mapped and cached beforehand, must see exactly those bytes through
// its mapping and with pread(), and nothing at the offsets a 32-bit
// truncation of them would hit. Graded on the level ladder (ladder.hpp).
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "check.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"
#include "ladder.hpp"

namespace dmmap::conform {
namespace {

constexpr std::uint64_t kBase = 4ull << 30;   // 4 GiB: offsets above it need 64 bits everywhere
constexpr std::uint64_t kGranule = 2u << 20;  // the span is longer than this and crosses its boundaries

// The mapped window: one granule either side of 4 GiB; the file ends with it.
struct Window {
  std::uint64_t begin = kBase - kGranule, end = kBase + kGranule;
  // The stored span: half a granule and a page and a bit either side of 4 GiB.
  std::uint64_t span_begin = kBase - kGranule / 2 - page_size() - 100;
  std::uint64_t span_end = kBase + kGranule / 2 + page_size() + 100;
  std::size_t length() const { return end - begin; }
};

// The byte rank 0 stores at file offset `off`: its page number in it, so a
// page written at the wrong offset reads wrong.
std::uint8_t value_at(std::uint64_t off) { return static_cast<std::uint8_t>(1 + ((off >> 12) * 13 + off) % 251); }

std::uint8_t expected_at(const Window& w, std::uint64_t off) {
  return off >= w.span_begin && off < w.span_end ? value_at(off) : 0;
}

// The first byte of `n` at file offset `base` that is not what it should be, described, or "".
std::string first_wrong(const std::uint8_t* p, std::size_t n, std::uint64_t base, const Window& w, const char* how) {
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] != expected_at(w, base + i))
      return fmt::format("{}: byte at {} (4 GiB {:+}) is 0x{:02x}, expected 0x{:02x}", how, base + i,
                         static_cast<std::int64_t>(base + i - kBase), p[i], expected_at(w, base + i));
  return "";
}

// What this rank sees: through `map` (the window) and with pread(); plus the
// offsets a 32-bit truncation would give the span's part above 4 GiB (the
// file's first bytes), which must read as the hole they are.
std::string look(int fd, const Mapping& map, const Window& w) {
  std::string wrong = first_wrong(map.data(), map.size(), w.begin, w, "mapping");
  if (!wrong.empty()) return wrong;
  const auto bytes = pread_up_to(fd, w.span_end - w.span_begin, static_cast<off_t>(w.span_begin));
  if (bytes.size() != w.span_end - w.span_begin)
    return fmt::format("pread of the span at {} returned {} bytes", w.span_begin, bytes.size());
  wrong = first_wrong(bytes.data(), bytes.size(), w.span_begin, w, "pread");
  if (!wrong.empty()) return wrong;
  const auto low = pread_up_to(fd, w.span_end - kBase, 0);
  for (std::size_t i = 0; i < low.size(); ++i)
    if (low[i] != 0)
      return fmt::format("pread at {} (4 GiB below the span): byte is 0x{:02x}, expected a hole", i, low[i]);
  return "";
}

// "" if rank 0's filesystem takes a sparse file reaching past 4 GiB, else why not.
std::string refusal(CheckContext& ctx, const std::filesystem::path& file, const Window& w) {
  std::string why;
  if (ctx.rank() == 0) {
    const Fd fd = create_file(file, 0, 0);
    if (::ftruncate(fd.get(), static_cast<off_t>(w.end)) != 0)
      why = fmt::format("a sparse file of {} bytes: ftruncate: {}", w.end, std::strerror(errno));
  }
  return ctx.broadcast(why);
}

void run(CheckContext& ctx) {
  const Window w;
  const auto file = ctx.path("large");
  if (const std::string why = refusal(ctx, file, w); !why.empty()) throw CheckSkipped("the filesystem refuses " + why);
  const bool writer = ctx.rank() == 0;
  auto fd = std::make_unique<Fd>(open_file(file, O_RDWR));
  auto map = std::make_unique<Mapping>(fd->get(), w.length(), PROT_READ | PROT_WRITE, MAP_SHARED,
                                       static_cast<off_t>(w.begin));
  struct stat st {};
  ASSERT_EQ(::fstat(fd->get(), &st), 0);
  ASSERT_EQ(static_cast<std::uint64_t>(st.st_size), w.end) << "the sparse file's size";
  ASSERT_EQ(count_equal(map->data(), w.length(), 0), w.length()) << "the new sparse file does not read zeros";
  ctx.barrier();  // every rank has read the file before rank 0 changes it

  std::string wrong;
  Rungs rungs;
  rungs.what = fmt::format("span across 4 GiB by rank 0 -> rank {}", ctx.rank());
  rungs.writer = writer;
  rungs.reader = !writer;
  rungs.change = [&] {
    for (std::uint64_t off = w.span_begin; off < w.span_end; ++off) map->data()[off - w.begin] = value_at(off);
  };
  rungs.sync = [&] { map->sync(); };
  rungs.close = [&] {
    map.reset();
    fd.reset();
  };
  rungs.look = [&](Level rung) {
    std::string now;
    if (rung != Level::close_to_open) {
      now = look(fd->get(), *map, w);
    } else {
      const Fd fresh = open_file(file, O_RDONLY);
      const Mapping view(fresh.get(), w.length(), PROT_READ, MAP_SHARED, static_cast<off_t>(w.begin));
      now = look(fresh.get(), view, w);
    }
    if (wrong.empty() && !now.empty()) wrong = fmt::format("at {}: {}", to_string(rung), now);
    return now.empty();
  };
  climb(ctx, rungs);
  if (!wrong.empty()) ctx.note(wrong);
}

const CheckRegistration check({
    .id = "shared.large-file",
    .summary = "a mapped store spanning 4 GiB and a 2 MiB granule is seen whole by other clients' mappings and pread",
    .measures_level = true,
    .distinct_clients = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
