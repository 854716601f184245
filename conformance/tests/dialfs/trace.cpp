#include "trace.hpp"

#include <time.h>

#include <cstdio>
#include <mutex>

namespace dialfs {

void trace_line(const std::string& line) {
  static std::mutex mutex;
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  std::lock_guard lock(mutex);
  std::fprintf(stderr, "dialfs %ld.%06ld %s\n", static_cast<long>(now.tv_sec), now.tv_nsec / 1000, line.c_str());
}

}  // namespace dialfs
