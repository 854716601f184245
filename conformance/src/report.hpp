// The run's report in three forms: a console table for people, JSON for
// machines (a self-contained certificate), JUnit XML for CI systems.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "client_map.hpp"
#include "dmmap/json.hpp"
#include "outcome.hpp"

namespace dmmap::conform {

struct RunSummary {
  std::string verdict;  // "PASS" / "FAIL"
  Level expected = Level::strict;
  int ranks = 0;
  double duration_s = 0;
  std::string scratch;
  std::string hook;   // the target hook used ("" = none)
  ClientMap clients;  // fewer than two: a control run, never a multi-client certificate
  std::vector<CheckResult> checks;
  Json environment;
  Json profile;              // RunProfile::to_json()
  std::string profile_line;  // RunProfile::describe()
};

std::string console_table(const RunSummary& run);
std::string verdict_line(const RunSummary& run);
// "" for a multi-client run; else what the run is instead of a certificate.
std::string control_run_note(const RunSummary& run);
Json report_json(const RunSummary& run);
std::string junit_xml(const RunSummary& run);
// A page for people (a pull request, a certification file): Markdown tables.
std::string summary_markdown(const RunSummary& run);
// Writes conformance.json, junit.xml and summary.md into `dir` (created if missing).
void write_report_files(const std::filesystem::path& dir, const RunSummary& run);

}  // namespace dmmap::conform
