// Runs the selected checks under GoogleTest on every rank, concludes each on
// rank 0, and ends with one verdict that is the same on every rank.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
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

// What a program embedding the suite (dmmap-certify) hears while it runs.
class SuiteObserver {
 public:
  virtual ~SuiteObserver() = default;
  // Rank 0, before check `n` of `total` (1-based) starts.
  virtual void check_started(const CheckInfo& info, std::size_t n, std::size_t total) = 0;
  // Rank 0, once the check is concluded.
  virtual void check_done(const CheckResult& result, std::size_t n, std::size_t total) = 0;
  // Every rank, with what it saw itself (before the outcomes meet on rank 0).
  virtual void rank_outcome(const CheckInfo& info, const RankOutcome& outcome) = 0;
};

struct SuiteConfig {
  Level expected = Level::strict;
  bool keep = false;
  bool quick = false;
  // Check IDs to run: ':'-separated shell patterns (fnmatch); one starting
  // with '-' excludes ("shared.*:exec.*:-exec.replace-*"). Without a
  // positive pattern every check not excluded runs.
  std::string filter;
  SuiteObserver* observer = nullptr;
  std::optional<std::filesystem::path> report_dir;
  RunParams params;
  KnownFailures known_failures;
  // Ranks that run each check (more if a check needs more); the others
  // observe, so that no check's work grows with the job (--max-active).
  int max_active = 4;
  // A check running longer ends as FAIL naming it; zero: derived from the
  // sync timeout and the rank count (check_time_limit()).
  std::chrono::milliseconds check_time_limit{0};
};

// Whether check `id` is selected by a SuiteConfig::filter.
bool selected_by(const std::string& filter, const std::string& id);
// The time limit of each check: `configured` if set, else five sync timeouts
// (--timeout plus the profile's eviction timeout) plus one second a rank (the
// run-wide sync points cost O(ranks) each).
std::chrono::milliseconds check_time_limit(std::chrono::milliseconds configured, std::chrono::milliseconds sync_timeout,
                                           int ranks);

// Exit statuses: the table every dmmap program shares (docs/exit-status.md).
inline constexpr int kExitPass = exit_status::kOk;
inline constexpr int kExitFail = exit_status::kFailed;
inline constexpr int kExitUsage = exit_status::kUsage;
inline constexpr int kExitHang = exit_status::kHang;

class Suite {
 public:
  Suite(MpiSession& mpi, Sync& sync, ScratchArea& scratch, SuiteConfig config, Json environment, ClientMap clients);

  // Registers the selected checks as GoogleTest tests (suite = family).
  void register_checks();
  // RUN_ALL_TESTS plus the final report; returns the exit status (same on every rank).
  int run();

 private:
  // The first `size` ranks in role order, with their own sync points.
  struct Team {
    std::vector<int> ranks;           // world rank of each role
    std::unique_ptr<OwnedComm> comm;  // holds MPI_COMM_NULL on the observers
    std::unique_ptr<Sync> sync;
  };
  Team& team_for(const CheckInfo& info);
  void run_check(const CheckInfo& info);
  void run_as_role(const CheckInfo& info, Team& team, RankOutcome& outcome);
  void run_body(const CheckInfo& info, Sync& team, RankOutcome& outcome);
  void conclude_check(const CheckInfo& info, const Team& team, const RankOutcome& outcome,
                      std::chrono::steady_clock::time_point start);
  int agree_on_status(int status_on_root);
  std::filesystem::path prepare_check_dir(const CheckInfo& info, Sync& team);
  void record(CheckResult result);
  [[noreturn]] void on_hang(const CheckInfo& info, const HangError& error);
  void write_reports(double duration_s) const;
  bool overall_pass() const;
  std::size_t to_run() const;

  MpiSession& mpi_;
  Sync& sync_;
  ScratchArea& scratch_;
  SuiteConfig config_;
  Json environment_;
  ClientMap clients_;
  std::chrono::milliseconds time_limit_;
  std::map<int, std::unique_ptr<Team>> teams_;  // by size, made on first use (MPI_Comm_split is collective)
  // The outcome of the check running on this rank, for GoogleTest's
  // assertions (OutcomeRecorder); null between checks.
  RankOutcome* recording_ = nullptr;
  std::vector<CheckResult> results_;  // rank 0 only
  std::chrono::steady_clock::time_point started_;
  std::size_t selected_ = 0;
};

}  // namespace dmmap::conform
