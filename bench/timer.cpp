#include "timer.hpp"

#include <algorithm>
#include <vector>

namespace dmmap::bench {

TimerCost measure_timer_cost() {
  TimerCost cost;
  timespec res{};
  clock_getres(CLOCK_MONOTONIC, &res);
  cost.resolution_ns = static_cast<double>(res.tv_sec) * 1e9 + static_cast<double>(res.tv_nsec);

  constexpr int kReads = 200'000;
  volatile std::uint64_t sink = 0;
  const auto start = now_ns();
  for (int i = 0; i < kReads; ++i) sink = now_ns();
  cost.per_read_ns = static_cast<double>(now_ns() - start) / kReads;
  (void)sink;

  // The median, not the mean: a preemption in a few intervals must not move it.
  std::vector<std::uint64_t> intervals(20'000);
  for (auto& d : intervals) {
    const auto a = now_ns();
    const auto b = now_ns();
    d = b - a;
  }
  std::nth_element(intervals.begin(), intervals.begin() + intervals.size() / 2, intervals.end());
  cost.empty_interval_ns = static_cast<double>(intervals[intervals.size() / 2]);
  return cost;
}

}  // namespace dmmap::bench
