// Runs the selected checks under GoogleTest on every rank, concludes each on
// rank 0, and ends with one verdict that is the same on every rank.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <vector>

#include "check.hpp"
#include "dmmap/json.hpp"
#include "dmmap/mpi_session.hpp"
#include "dmmap/sync.hpp"
#include "dmmap/target.hpp"
#include "known_failures.hpp"
#include "outcome.hpp"

namespace dmmap::conform {

struct SuiteConfig {
  Level expected = Level::strict;
  bool keep = false;
  bool quick = false;
  std::optional<std::filesystem::path> report_dir;
  RunParams params;
  KnownFailures known_failures;
};

// Exit statuses, documented in --help and the README.
inline constexpr int kExitPass = 0;
inline constexpr int kExitFail = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitHang = 4;

class Suite {
 public:
  Suite(MpiSession& mpi, Sync& sync, ScratchArea& scratch, SuiteConfig config, Json environment);

  // Registers the selected checks as GoogleTest tests (suite = family).
  void register_checks();
  // RUN_ALL_TESTS plus the final report; returns the exit status (same on every rank).
  int run();

  void run_check(const CheckInfo& info);

 private:
  std::filesystem::path prepare_check_dir(const CheckInfo& info);
  void record(CheckResult result);
  [[noreturn]] void on_hang(const CheckInfo& info, const HangError& error);
  void write_reports(double duration_s) const;
  bool overall_pass() const;

  MpiSession& mpi_;
  Sync& sync_;
  ScratchArea& scratch_;
  SuiteConfig config_;
  Json environment_;
  std::vector<CheckResult> results_;  // rank 0 only
  std::chrono::steady_clock::time_point started_;
  std::size_t selected_ = 0;
};

}  // namespace dmmap::conform
