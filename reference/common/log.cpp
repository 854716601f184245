#include "log.hpp"

#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <string>

namespace dmfs::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::info)};
const char* names[] = {"error", "warn", "info", "debug", "trace"};
}  // namespace

void set_level(Level l) { g_level = static_cast<int>(l); }
Level level() { return static_cast<Level>(g_level.load(std::memory_order_relaxed)); }

bool parse_level(std::string_view s, Level& out) {
  for (int i = 0; i < 5; ++i)
    if (s == names[i]) {
      out = static_cast<Level>(i);
      return true;
    }
  return false;
}

void write(Level l, std::string_view msg) {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  tm t{};
  gmtime_r(&tv.tv_sec, &t);
  char ts[32];
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &t);
  std::string line = fmt::format("{}.{:06d}Z dmfsd[{}] {}: {}\n", ts, static_cast<int>(tv.tv_usec),
                                 static_cast<int>(getpid()), names[static_cast<int>(l)], msg);
  // One write(2) per line so lines of concurrent processes do not interleave.
  ssize_t r = ::write(2, line.data(), line.size());
  (void)r;
}

}  // namespace dmfs::log
