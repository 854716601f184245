// Declaring a conformance check, LTP-style (the model is LTP's struct
// tst_test): a check states what it needs — ranks, distinct clients, the
// target-hook actions it calls, the helper programs it runs, whether it
// starts child processes, whether it measures a level — and gets set-up, the
// SKIP of an unmet need (with the reason, before its body runs),
// synchronisation, timeouts, result classes and clean-up from the framework.
// A body never tests for a hook, a helper or whether it can fork.
//
//   namespace {
//   void run(CheckContext& ctx) { ... }
//   const CheckRegistration check({.id = "shared.example", .summary = "...",
//                                  .measures_level = true,
//                                  .distinct_clients = true, .run = run});
//   }
//
// Every check needs two ranks (its writer and its reader) unless it says more.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "dmmap/sync.hpp"
#include "level.hpp"
#include "outcome.hpp"
#include "run_profile.hpp"
#include "target_hook.hpp"

namespace dmmap::conform {

class CheckContext;

// Run-wide parameters some checks take (model.random-ops: --seed, --ops, --model-size).
struct RunParams {
  std::optional<std::uint64_t> seed;  // unset: the check picks one and reports it
  int ops = 1000;                     // operations of the randomised model check (~1.5 ms each on 2 local ranks)
  // Bytes of each window of its file: several lock granules (Lustre's and dmfs's are 1 MiB at most).
  std::size_t model_size = 2u << 20;
  std::filesystem::path hook;  // the target hook (--hook, DMMAP_HOOK); empty: none
  RunProfile profile;          // declared and measured waits (--profile)
  // How long each race.* check races its two sides (--race-seconds); below --timeout.
  std::chrono::milliseconds race{std::chrono::seconds(2)};
};

struct CheckInfo {
  std::string id;               // "family.name", stable: users' scripts and known-failure lists use it
  std::string summary;          // one line for --list
  int min_ranks = 2;            // fewer started ranks: SKIP with the reason
  bool measures_level = false;  // reports the semantic level reached
  bool quick = false;           // part of the --quick smoke subset
  // Needs, each checked before run(); unmet: SKIP with the reason (needs.hpp).
  std::vector<std::string> hook_actions{};  // target-hook actions it calls: "evict", "freeze", "thaw"
  std::vector<std::string> helpers{};       // helper programs it runs, built next to dmmap-conform
  bool distinct_clients = false;  // roles 0 and 1 (writer, reader) mean two clients: a run with one is a control run
  bool runs_from_target = false;  // runs programs stored on the filesystem: not on a noexec mount
  bool forks = false;             // starts child processes: not where this process cannot (seccomp, RLIMIT_NPROC)
  std::function<void(CheckContext&)> run;
};

struct CheckRegistration {
  explicit CheckRegistration(CheckInfo info);
};

// Every registered check, in catalog order (family order, then id).
const std::vector<CheckInfo>& catalog();

// Thrown (by the framework, on every rank at once) to end a check as SKIP.
struct CheckSkipped : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What a check body sees. The same body runs on every role; roles follow
// rank(): role 0 is the job's rank 0, role 1 the first rank of another
// client when the run has two (ClientMap::role_order); size() counts the
// roles, not the job's ranks (the others observe).
class CheckContext {
 public:
  // `helpers`: the declared helper programs, found. `outcome` receives this
  // rank's observations.
  CheckContext(Sync& sync, const CheckInfo& info, std::filesystem::path dir, Level expected, RunParams params,
               std::map<std::string, std::filesystem::path> helpers, RankOutcome& outcome);

  int rank() const { return sync_.rank(); }
  int size() const { return sync_.size(); }
  Level expected() const { return expected_; }
  const RunParams& params() const { return params_; }
  // This rank's path to the check's own directory (the same directory on every rank).
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path path(const std::string& name) const { return dir_ / name; }
  // A helper program the check declared in `helpers` (found before run()).
  const std::filesystem::path& helper(const std::string& name) const;

  // The longest wait at a sync point (--timeout): a rank busy longer than
  // this between two sync points makes the run end with HANG.
  std::chrono::milliseconds sync_timeout() const { return sync_.timeout(); }

  // Sync points; they throw when another rank failed fatally or hung.
  void barrier() { sync_.barrier(); }
  std::vector<std::string> allgather(const std::string& payload) { return sync_.allgather(payload); }
  std::string broadcast(const std::string& payload_on_root) { return sync_.broadcast(payload_on_root); }
  // True on every rank iff `value` is true on every rank.
  bool all(bool value);

  // A level observation on this rank ("what", e.g. "map 0->1"); the check's
  // level is the weakest observation of any rank.
  void reached(Level level, const std::string& what);
  // A remark shown in the report (not a failure).
  void note(const std::string& text);
  // Marks the check informational: behaviour POSIX leaves open.
  void informational(const std::string& text);

  // Collective: `rank` runs the target hook's ACTION (declared in
  // hook_actions) on its own client, this check's directory as seen by it;
  // every rank learns how it went. A target that cannot do ACTION (the hook
  // exits 3) ends the check as SKIP on every rank (throws CheckSkipped);
  // `done` and `failed` are returned.
  HookResult hook(int rank, const std::string& action);

 private:
  Sync& sync_;
  const CheckInfo& info_;
  std::filesystem::path dir_;
  Level expected_;
  RunParams params_;
  std::map<std::string, std::filesystem::path> helpers_;
  RankOutcome& outcome_;
};

}  // namespace dmmap::conform
