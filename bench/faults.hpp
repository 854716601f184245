// Counting the page faults this thread really took.
//
// One load per page is not one fault per page: the kernel's fault-around maps
// up to 16 neighbouring pages of a file mapping on one fault. getrusage's
// per-thread counters say how many faults there were (minor: the page was in
// the page cache; major: it had to be read in).
#pragma once

#include <sys/resource.h>

#include <cstdint>

namespace dmmap::bench {

struct FaultCount {
  std::uint64_t minor = 0;
  std::uint64_t major = 0;
  std::uint64_t total() const { return minor + major; }
  FaultCount operator-(const FaultCount& earlier) const { return {minor - earlier.minor, major - earlier.major}; }
  FaultCount& operator+=(const FaultCount& more) {
    minor += more.minor;
    major += more.major;
    return *this;
  }
};

inline FaultCount thread_faults() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return {static_cast<std::uint64_t>(usage.ru_minflt), static_cast<std::uint64_t>(usage.ru_majflt)};
}

// Faults of the children this process has waited for (exec measurements).
inline FaultCount children_faults() {
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);
  return {static_cast<std::uint64_t>(usage.ru_minflt), static_cast<std::uint64_t>(usage.ru_majflt)};
}

}  // namespace dmmap::bench
