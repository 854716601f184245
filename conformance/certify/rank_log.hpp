// What one rank did and saw during dmmap-certify, for logs/rank-N.log in the
// result directory: its environment, its own outcome of every check (before
// the outcomes meet on rank 0), progress lines. Kept in memory; the logs are
// brought to rank 0 through a sync point at the end.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "dmmap/sync.hpp"

namespace dmmap::certify {

class RankLog {
 public:
  // "+12.345s line" (seconds since the log started).
  void add(const std::string& line);
  // Collective: every rank's log on rank 0 (index = rank); empty elsewhere.
  std::vector<std::string> gather(Sync& sync) const;

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::string text_;
};

}  // namespace dmmap::certify
