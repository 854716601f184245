// shared.hugepage: every rank maps a 4 MiB file at a 2 MiB-aligned address
// with MADV_HUGEPAGE and reads it, so a client with file transparent huge
// pages caches it as PMD-sized pages. Rank 0 then changes one 4 KiB page in
// the middle of the first 2 MiB; every other client must see exactly that
// page changed and nothing else: a filesystem that invalidates or fetches
// only whole huge pages, or only base pages of a huge one, shows stale or
// neighbouring data (Lustre LU-18449). Graded on the level ladder
// (ladder.hpp). Where no reader got a PMD-mapped page (/proc/self/smaps) the
// check still grades the change but is INFO: it did not test huge pages.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>

#include "check.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"
#include "ladder.hpp"

namespace dmmap::conform {
namespace {

constexpr std::size_t kHuge = 2u << 20;  // a PMD on x86-64 and arm64 with 4 KiB pages
constexpr std::size_t kSize = 2 * kHuge;
constexpr std::uint8_t kOld = 0x5A, kNew = 0xA5;

// The changed page: in the middle of the first huge page.
std::size_t changed_begin() { return kHuge / 2; }
std::size_t changed_end() { return kHuge / 2 + page_size(); }

// The file mapped shared at a kHuge-aligned address inside an anonymous
// reservation, which owns both (unmapping it unmaps the file too).
struct AlignedView {
  AlignedView(const std::filesystem::path& file, bool writable)
      : fd(open_file(file, writable ? O_RDWR : O_RDONLY)),
        reservation(-1, kSize + kHuge, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE) {
    const auto base = reinterpret_cast<std::uintptr_t>(reservation.data());
    auto* aligned = reinterpret_cast<void*>((base + kHuge - 1) / kHuge * kHuge);
    const int prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
    void* got = ::mmap(aligned, kSize, prot, MAP_SHARED | MAP_FIXED, fd.get(), 0);
    if (got == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap");
    data = static_cast<std::uint8_t*>(got);
    if (::madvise(data, kSize, MADV_HUGEPAGE) != 0) advice_error = std::strerror(errno);
  }
  Fd fd;
  Mapping reservation;
  std::uint8_t* data = nullptr;
  std::string advice_error;  // MADV_HUGEPAGE refused (a kernel without THP: EINVAL)
};

// kB of the mapping at `addr` mapped by PMD-sized pages: smaps'
// FilePmdMapped (page-cache files) plus ShmemPmdMapped (tmpfs).
long pmd_mapped_kb(const void* addr) {
  std::ifstream smaps("/proc/self/smaps");
  const auto at = reinterpret_cast<std::uintptr_t>(addr);
  std::string line;
  bool inside = false;
  long kb = 0;
  while (std::getline(smaps, line)) {
    std::uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream range(line);
    if (range >> std::hex >> lo >> dash >> hi && dash == '-' && line.find(':') > line.find(' ')) {
      inside = at >= lo && at < hi;
      continue;
    }
    if (!inside) continue;
    std::istringstream field(line);
    std::string key;
    long value = 0;
    if (field >> key >> value && (key == "FilePmdMapped:" || key == "ShmemPmdMapped:")) kb += value;
  }
  return kb;
}

std::string thp_setting(const char* name) {
  std::ifstream f(std::string("/sys/kernel/mm/transparent_hugepage/") + name);
  std::string s;
  std::getline(f, s);
  return s.empty() ? "absent" : s;
}

// "" if `p` holds exactly rank 0's change, else the first wrong byte.
std::string first_wrong(const std::uint8_t* p) {
  for (std::size_t i = 0; i < kSize; ++i) {
    const std::uint8_t want = i >= changed_begin() && i < changed_end() ? kNew : kOld;
    if (p[i] != want)
      return fmt::format("byte {} (huge page {}, page {}) is 0x{:02x}, expected 0x{:02x}", i, i / kHuge,
                         i / page_size(), p[i], want);
  }
  return "";
}

void run(CheckContext& ctx) {
  const auto file = ctx.path("huge");
  if (ctx.rank() == 0) create_file(file, kSize, kOld);
  ctx.barrier();
  const bool writer = ctx.rank() == 0;
  auto view = std::make_unique<AlignedView>(file, writer);
  ASSERT_EQ(count_equal(view->data, kSize, kOld), kSize) << "the file is not as written";
  const long pmd_kb = pmd_mapped_kb(view->data);
  const std::string advice = view->advice_error.empty() ? "" : " (refused: " + view->advice_error + ")";
  ctx.barrier();  // every rank has read the file before rank 0 changes it

  std::string wrong;
  Rungs rungs;
  rungs.what = fmt::format("4 KiB store by rank 0 inside a huge page -> rank {}", ctx.rank());
  rungs.writer = writer;
  rungs.reader = !writer;
  rungs.change = [&] { std::memset(view->data + changed_begin(), kNew, changed_end() - changed_begin()); };
  rungs.sync = [&] {
    if (::msync(view->data, kSize, MS_SYNC) != 0) throw std::system_error(errno, std::generic_category(), "msync");
  };
  rungs.close = [&] { view.reset(); };
  rungs.look = [&](Level rung) {
    std::string now;
    if (rung != Level::close_to_open) {
      now = first_wrong(view->data);
    } else {
      const AlignedView fresh(file, false);
      now = first_wrong(fresh.data);
    }
    if (wrong.empty() && !now.empty()) wrong = fmt::format("at {}: {}", to_string(rung), now);
    return now.empty();
  };
  climb(ctx, rungs);
  if (!wrong.empty()) ctx.note(wrong);
  if (writer) return;
  if (pmd_kb > 0)
    ctx.note(fmt::format("{} kB of the file were mapped by huge pages before the change", pmd_kb));
  else
    ctx.informational(fmt::format(
        "file THP unavailable: no huge page mapped the file after MADV_HUGEPAGE{} (transparent_hugepage/enabled: {}, "
        "shmem_enabled: {}); only base pages were tested",
        advice, thp_setting("enabled"), thp_setting("shmem_enabled")));
}

const CheckRegistration check({
    .id = "shared.hugepage",
    .summary = "a 4 KiB remote store inside a MADV_HUGEPAGE file mapping is seen exactly (INFO without file THP)",
    .measures_level = true,
    .distinct_clients = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
