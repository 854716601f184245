#include "known_failures.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "check.hpp"

namespace dmmap::conform {
namespace {

bool in_catalog(const std::string& id) {
  const auto& c = catalog();
  return std::any_of(c.begin(), c.end(), [&](const CheckInfo& info) { return info.id == id; });
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  auto e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

}  // namespace

KnownFailures KnownFailures::load(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error(fmt::format("--known-failures: cannot read {}", file.string()));
  KnownFailures known;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    std::istringstream words(line);
    std::string id;
    words >> id;
    std::string reason;
    std::getline(words, reason);
    if (!in_catalog(id))
      throw std::runtime_error(
          fmt::format("--known-failures: {}:{}: no check '{}' (see --list)", file.string(), number, id));
    known.reasons_[id] = trim(reason).empty() ? "listed as a known failure" : trim(reason);
  }
  return known;
}

void KnownFailures::apply(CheckResult& result) const {
  auto it = reasons_.find(result.id);
  if (it == reasons_.end()) return;
  if (result.verdict == Verdict::fail) {
    result.verdict = Verdict::expected_fail;
    result.message = fmt::format("known failure ({}): {}", it->second, result.message);
  } else if (result.verdict == Verdict::pass || result.verdict == Verdict::info) {
    result.verdict = Verdict::unexpected_pass;
    result.message = fmt::format("listed as a known failure ({}) but passed", it->second);
  }
}

}  // namespace dmmap::conform
