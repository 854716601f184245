// Runs the selected checks under GoogleTest on every rank, concludes each on
// rank 0, and ends with one verdict that is the same on every rank.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <vector>

#include "check.hpp"
#include "client_map.hpp"
#include "dmmap/exit_status.hpp"
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

// Exit statuses: the table every dmmap program shares (docs/exit-status.md).
inline constexpr int kExitPass = exit_status::kOk;
inline constexpr int kExitFail = exit_status::kFailed;
inline constexpr int kExitUsage = exit_status::kUsage;
inline constexpr int kExitHang = exit_status::kHang;

class Suite {
 public:
  Suite(MpiSession& mpi, Sync& sync, ScratchArea& scratch, SuiteConfig config, Json environment);

  // Registers the selected checks as GoogleTest tests (suite = family).
  void register_checks();
  // RUN_ALL_TESTS plus the final report; returns the exit status (same on every rank).
  int run();

 private:
  void run_check(const CheckInfo& info);
  void run_body(const CheckInfo& info, RankOutcome& outcome);
  void conclude_check(const CheckInfo& info, const RankOutcome& outcome, std::chrono::steady_clock::time_point start);
  int agree_on_status(int status_on_root);
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
  ClientMap clients_;
  // The outcome of the check running on this rank, for GoogleTest's
  // assertions (OutcomeRecorder); null between checks.
  RankOutcome* recording_ = nullptr;
  std::vector<CheckResult> results_;  // rank 0 only
  std::chrono::steady_clock::time_point started_;
  std::size_t selected_ = 0;
};

}  // namespace dmmap::conform
