// The profile a run uses and what the run measured before relying on it: the
// one place a check takes a wait for the filesystem from. No check waits a
// constant: a wait is a measured value or a declared one, and both are in the
// report (conformance.json "profile").
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "dmmap/json.hpp"
#include "dmmap/sync.hpp"
#include "profile.hpp"
#include "timestamp_granularity.hpp"

namespace dmmap::conform {

struct RunProfile {
  Profile declared;
  GranularityMeasurement granularity;                                // measured on rank 0's client
  std::chrono::milliseconds step_timeout{std::chrono::seconds(60)};  // --timeout

  // How long to wait before a change whose timestamp must be later than one
  // read now: two steps of the measured granularity (one to leave the step
  // of the baseline, one for the kernel's coarse clock, which lags real time
  // by up to one of its ticks), or of the declared bound if none was measured.
  std::chrono::nanoseconds timestamp_wait() const;
  // How long an operation may wait for the filesystem to evict a client that
  // stopped answering: the declared eviction timeout plus half a step, the
  // allowance of the operation itself. Unset when the profile does not say.
  std::optional<std::chrono::milliseconds> eviction_wait() const;
  // The longest wait at a sync point: --timeout, grown by the eviction
  // timeout (a rank waits at one while another waits out an eviction).
  std::chrono::milliseconds sync_timeout() const;

  Json to_json() const;
  std::string describe() const;  // one line for the console header and summary.md
};

// Collective. `requested`: the --profile given (unset: auto, by rank 0's
// filesystem type in `environment`). Rank 0 measures in `dir_on_root`.
RunProfile establish_profile(Sync& sync, const std::optional<Profile>& requested, const Json& environment,
                             const std::filesystem::path& dir_on_root, std::chrono::milliseconds step_timeout);

}  // namespace dmmap::conform
