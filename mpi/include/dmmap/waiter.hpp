// The one deadline-and-backoff waiter of the harness: every wait for another
// rank (Sync's sync points, the collectives, point-to-point tokens) polls
// through it, so that each has a deadline and none hogs a core.
#pragma once

#include <chrono>
#include <functional>

namespace dmmap {

using Deadline = std::chrono::steady_clock::time_point;

// How a waiter backs off between polls: `spins` polls back to back, then
// `yields` with sched_yield(), then sleeps growing by `sleep_step` up to
// `max_sleep` (ranks are oversubscribed on small machines: a spinning waiter
// steals the time of the rank it waits for).
struct Backoff {
  unsigned spins = 0;
  unsigned yields = 64;
  std::chrono::microseconds sleep_step{10};
  std::chrono::microseconds max_sleep{1000};
};

// For sync points between phases: at once polite.
inline constexpr Backoff kPoliteBackoff{};
// For per-iteration collectives, where the peer is usually microseconds
// behind: spin first, then yield, then short sleeps.
inline constexpr Backoff kEagerBackoff{1000, 1000, std::chrono::microseconds(50), std::chrono::microseconds(50)};

// For a rank that waits on purpose while others work (an observer of a
// check): a poll every few milliseconds, so that a hundred waiting ranks do
// not take the cores from the few that work.
inline constexpr Backoff kIdleBackoff{0, 0, std::chrono::microseconds(500), std::chrono::microseconds(20000)};

// Polls `done` until it returns true (then true) or `deadline` passes (then false).
bool poll_until(const std::function<bool()>& done, Deadline deadline, const Backoff& backoff = kPoliteBackoff);

}  // namespace dmmap
