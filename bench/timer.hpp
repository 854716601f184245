// The clock every measurement uses, and what reading it costs.
//
// CLOCK_MONOTONIC through the vDSO: no syscall, comparable across cores, not
// stepped by NTP. rdtscp would be a little cheaper but needs a calibrated,
// invariant TSC, which qemu guests (where dmfs is tested) do not promise.
#pragma once

#include <time.h>

#include <cstdint>

namespace dmmap::bench {

inline std::uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

struct TimerCost {
  double per_read_ns = 0;        // one now_ns(), from a tight loop of many
  double empty_interval_ns = 0;  // median of (now_ns() - now_ns()) back to back:
                                 // what a timed interval adds to the work it brackets
  double resolution_ns = 0;      // clock_getres
};

// Measures the timer on this CPU (a few milliseconds).
TimerCost measure_timer_cost();

}  // namespace dmmap::bench
