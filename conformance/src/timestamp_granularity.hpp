// Measures, on this client, the granularity of the timestamps the filesystem
// under test keeps, so that a check comparing timestamps waits past it
// instead of assuming one.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

namespace dmmap::conform {

struct GranularityMeasurement {
  // The smallest step between two successive mtimes seen; unset if the mtime
  // did not change three times within three times the bound.
  std::optional<std::chrono::nanoseconds> granularity;
  std::string how;  // what was done and seen, for the report
};

// Writes a probe file in `dir` (removed again) and fstat()s it until its mtime
// has changed three times, polling faster than `bound` (the profile's coarsest
// granularity) allows a step to pass unseen; gives up after 3 x `bound`.
GranularityMeasurement measure_timestamp_granularity(const std::filesystem::path& dir, std::chrono::nanoseconds bound);

}  // namespace dmmap::conform
