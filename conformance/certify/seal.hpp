// Completing the result directory on rank 0 after the run: the configuration
// as given and as resolved, the per-rank logs, the profile file if one was
// named (its contents as used are also in conformance.json), the control-run notice atop summary.md, report.html, and
// result.json (the manifest) over all of it; then DIR.tgz.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "clients.hpp"
#include "config.hpp"
#include "dmmap/json.hpp"
#include "result_dir.hpp"
#include "run_profile.hpp"

namespace dmmap::certify {

struct SealInput {
  const ResultDir& dir;
  std::string config_path, config_text;
  const Config& config;
  const Clients& clients;
  const Json& environment;
  const conform::RunProfile& profile;  // the profile the checks used
  int conform_status = 0, bench_status = 0;
  std::vector<std::string> rank_logs;  // index = rank
};

// Returns DIR.tgz; throws std::runtime_error.
std::filesystem::path seal(const SealInput& in);

}  // namespace dmmap::certify
