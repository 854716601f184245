// What one rank observed in one check, and what rank 0 concludes from all ranks.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dmmap/json.hpp"
#include "level.hpp"

namespace dmmap::conform {

struct RankOutcome {
  std::vector<std::string> failures;
  // When each failure happened (CLOCK_REALTIME seconds, so that ranks of
  // different nodes compare as well as their clocks agree): a check's
  // reason is the first failure in time, whichever rank had it.
  std::vector<double> failure_times;
  std::optional<std::string> skipped;
  std::optional<Level> level;
  std::vector<std::string> observations;  // "map 0->1: msync"
  std::vector<std::string> notes;
  std::vector<std::string> informational;
  bool aborted = false;  // left early because another rank failed

  // Records a failure, stamped now.
  void fail(std::string what);
  Json to_json() const;
  static RankOutcome from_json(const Json& j);
};

enum class Verdict { pass, fail, hang, skip, info, expected_fail, unexpected_pass };
std::string_view to_string(Verdict v);
bool counts_as_failure(Verdict v);

struct CheckResult {
  std::string id;
  Verdict verdict = Verdict::pass;
  std::optional<Level> level;
  std::optional<Level> expected;
  std::vector<int> ranks;  // the ranks the verdict is about (failing, hung, ...)
  std::vector<int> roles;  // the ranks that ran the check, role 0 first (the others observed)
  std::string message;     // the one-line reason
  std::vector<std::string> details;
  double duration_s = 0;

  Json to_json() const;
};

// Rank 0's conclusion from every rank's outcome.
CheckResult conclude(const std::string& id, bool measures_level, Level expected,
                     const std::vector<RankOutcome>& per_rank);

}  // namespace dmmap::conform
