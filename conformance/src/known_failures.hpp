// --known-failures FILE: checks a site or vendor already knows to fail here.
// A listed FAIL becomes XFAIL (does not fail the run); a listed check that
// passes becomes XPASS, which does fail the run, so that a stale list is noticed.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "outcome.hpp"

namespace dmmap::conform {

class KnownFailures {
 public:
  // One "check.id reason..." per line; '#' starts a comment. Throws
  // std::runtime_error for an unreadable file or an ID not in the catalog.
  static KnownFailures load(const std::filesystem::path& file);

  bool empty() const { return reasons_.empty(); }
  // Rewrites a concluded result; HANG and SKIP stay what they are.
  void apply(CheckResult& result) const;

 private:
  std::map<std::string, std::string> reasons_;
};

}  // namespace dmmap::conform
