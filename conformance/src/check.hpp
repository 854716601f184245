// Declaring a conformance check, LTP-style: a check states what it needs
// (ranks, whether it measures a level) and gets set-up, synchronisation,
// timeouts, result classes and clean-up from the framework.
//
//   namespace {
//   void run(CheckContext& ctx) { ... }
//   const CheckRegistration check({.id = "shared.example", .summary = "...",
//                                  .min_ranks = 2, .measures_level = true, .run = run});
//   }
#pragma once

#include <filesystem>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dmmap/sync.hpp"
#include "level.hpp"
#include "target_hook.hpp"

namespace dmmap::conform {

class CheckContext;

// Run-wide parameters some checks take (model.random-ops: --seed, --ops).
struct RunParams {
  std::optional<std::uint64_t> seed;  // unset: the check picks one and reports it
  int ops = 1000;                      // operations of the randomised model check (~1.5 ms each on 2 local ranks)
  std::filesystem::path hook;          // the target hook (--hook, DMMAP_HOOK); empty: none
};

struct CheckInfo {
  std::string id;        // "family.name", stable: users' scripts and known-failure lists use it
  std::string summary;   // one line for --list
  int min_ranks = 2;     // fewer started ranks: SKIP with the reason
  bool measures_level = false;  // reports the semantic level reached
  bool quick = false;    // part of the --quick smoke subset
  std::function<void(CheckContext&)> run;
};

struct CheckRegistration {
  explicit CheckRegistration(CheckInfo info);
};

// Every registered check, in catalog order (family order, then id).
const std::vector<CheckInfo>& catalog();

// What a check body sees. The same body runs on every rank; roles follow rank().
class CheckContext {
 public:
  CheckContext(Sync& sync, std::filesystem::path dir, Level expected, RunParams params = {});

  int rank() const { return sync_.rank(); }
  int size() const { return sync_.size(); }
  Level expected() const { return expected_; }
  const RunParams& params() const { return params_; }
  // This rank's path to the check's own directory (the same directory on every rank).
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path path(const std::string& name) const { return dir_ / name; }

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

  // Collective: `rank` runs the target hook's ACTION on its own client (this
  // check's directory as seen by it); every rank learns how it went. Without
  // a hook the answer is `unsupported`, with the reason.
  HookResult hook(int rank, const std::string& action);
  // Collective: true iff every rank has a target hook.
  bool have_hook() { return all(!params_.hook.empty()); }

 private:
  Sync& sync_;
  std::filesystem::path dir_;
  Level expected_;
  RunParams params_;
};

}  // namespace dmmap::conform
