#include "dmmap/waiter.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>

namespace dmmap {

bool poll_until(const std::function<bool()>& done, Deadline deadline, const Backoff& backoff) {
  for (unsigned polls = 0;; ++polls) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (polls < backoff.spins) continue;
    if (polls < backoff.spins + backoff.yields) {
      sched_yield();
      continue;
    }
    const auto steps = polls - backoff.spins - backoff.yields + 1;
    ::usleep(static_cast<useconds_t>(std::min(backoff.max_sleep, backoff.sleep_step * steps).count()));
  }
}

}  // namespace dmmap
