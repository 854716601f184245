#include "verify.hpp"

#include <fmt/format.h>

#include "dmmap/exit_status.hpp"
#include "manifest.hpp"

namespace dmmap::certify {

int verify_command(const std::filesystem::path& dir) {
  std::vector<std::string> problems;
  try {
    problems = verify_manifest(dir);
  } catch (const std::exception& e) {
    fmt::print(stderr, "dmmap-certify: --verify {}: {}\n", dir.string(), e.what());
    return exit_status::kUsage;
  }
  for (const auto& p : problems) fmt::print(stderr, "dmmap-certify: --verify: {}\n", p);
  if (!problems.empty()) {
    fmt::print("{}: CHANGED ({} difference{})\n", dir.string(), problems.size(), problems.size() == 1 ? "" : "s");
    return exit_status::kFailed;
  }
  fmt::print("{}: intact (every file matches result.json)\n", dir.string());
  return exit_status::kOk;
}

}  // namespace dmmap::certify
