#include "timestamp_granularity.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <system_error>
#include <thread>
#include <vector>

#include "dmmap/fd.hpp"

namespace dmmap::conform {
namespace {

using std::chrono::nanoseconds;

nanoseconds mtime_of(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw std::system_error(errno, std::generic_category(), "fstat");
  return std::chrono::seconds(st.st_mtim.tv_sec) + nanoseconds(st.st_mtim.tv_nsec);
}

// The mtimes the file takes while it is rewritten, up to `changes` changes or
// the deadline. Between writes that did not change it, the poll backs off up
// to a thousandth of the bound, so no step of the bound's size goes unseen.
std::vector<nanoseconds> watch_mtime(int fd, int changes, nanoseconds bound) {
  const auto deadline = std::chrono::steady_clock::now() + 3 * bound;
  std::vector<nanoseconds> seen{mtime_of(fd)};
  nanoseconds pause{1000};
  char byte = 0;
  while (static_cast<int>(seen.size()) <= changes && std::chrono::steady_clock::now() < deadline) {
    ++byte;
    if (::pwrite(fd, &byte, 1, 0) != 1) throw std::system_error(errno, std::generic_category(), "pwrite");
    const nanoseconds t = mtime_of(fd);
    if (t != seen.back()) {
      seen.push_back(t);
      pause = nanoseconds(1000);
    } else {
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::max(bound / 1000, nanoseconds(1000)));
    }
  }
  return seen;
}

std::string text(nanoseconds ns) {
  if (ns.count() % 1000000000 == 0) return fmt::format("{} s", ns.count() / 1000000000);
  if (ns.count() % 1000000 == 0) return fmt::format("{} ms", ns.count() / 1000000);
  if (ns.count() % 1000 == 0) return fmt::format("{} us", ns.count() / 1000);
  return fmt::format("{} ns", ns.count());
}

}  // namespace

GranularityMeasurement measure_timestamp_granularity(const std::filesystem::path& dir, nanoseconds bound) {
  const auto file = dir / ".timestamp-granularity";
  Fd fd(::open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) throw std::system_error(errno, std::generic_category(), "open " + file.string());
  const auto start = std::chrono::steady_clock::now();
  const std::vector<nanoseconds> seen = watch_mtime(fd.get(), 3, bound);
  ::unlink(file.c_str());
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  GranularityMeasurement m;
  if (seen.size() < 4) {
    m.how = fmt::format("the mtime of a file rewritten for {} ms changed {} times, not 3: no granularity measured",
                        took.count(), seen.size() - 1);
    return m;
  }
  // The first change can come at any point of a step; the next ones are whole steps.
  nanoseconds step = seen[2] - seen[1];
  for (std::size_t i = 3; i < seen.size(); ++i) step = std::min(step, seen[i] - seen[i - 1]);
  m.granularity = step;
  m.how = fmt::format("smallest step of 2 between 3 mtime changes of a rewritten file, in {} ms", took.count());
  m.how = fmt::format("{} ({})", text(step), m.how);
  return m;
}

}  // namespace dmmap::conform
