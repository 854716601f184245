// Shared by the exec.* checks: placing the helper programs (declared in the
// checks' `helpers`, found by the framework) on the filesystem under test,
// and running a long-lived runner while the check's ranks synchronise.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "check.hpp"
#include "dmmap/probe/child.hpp"

namespace dmmap::conform {

// The roles of the exec checks: rank 0 writes the binary (or tries to), rank
// 1 runs it.
inline constexpr int kWriter = 0;
inline constexpr int kRunnerRank = 1;

// The runner helper's two builds, same layout, other code: what an exec
// check declares in `helpers` when it runs version 1 and writes version 2.
inline constexpr const char* kRunnerV1 = "dmmap-conform-runner-v1";
inline constexpr const char* kRunnerV2 = "dmmap-conform-runner-v2";
const std::filesystem::path& runner_v1(const CheckContext& ctx);
const std::filesystem::path& runner_v2(const CheckContext& ctx);

// Copies `from` to `to` (created with `mode`), fsync'ed and closed: an
// executable must not be open for writing when it is run.
void copy_file_to(const std::filesystem::path& from, const std::filesystem::path& to, mode_t mode);

// The runner's page functions, each alone in a block of 64 KiB (runner.c).
inline constexpr std::size_t kRunnerPages = 60;
inline constexpr std::size_t kRunnerBlock = 65536;

// What a runner reported: the versions, in page order ("page I version V"
// lines; `wrong` is set when a page's function returned another page's
// marker), and, in `wait` mode, how its eviction went ("evict: ..." lines).
struct PageVersions {
  std::vector<int> versions;
  bool wrong = false;
  std::optional<int> still_resident;      // pages 1.. resident after the eviction (mincore)
  std::vector<std::string> evict_errors;  // "posix_fadvise: Invalid argument"
  // "60 pages of version 1", "pages 0-3 version 1, pages 4-59 version 2"
  std::string describe() const;
  bool all(int version) const;
  bool any(int version) const;
  // Every page function executed, all of `version`.
  bool complete(int version) const { return all(version) && !wrong && versions.size() >= kRunnerPages; }
  // The eviction is confirmed: no page after page 0 was resident when the
  // runner went on, so each was faulted in from the filesystem.
  bool evicted() const { return still_resident && *still_resident == 0; }
  // "0 of 59 pages still resident after eviction", with the failed steps.
  std::string describe_eviction() const;
};
PageVersions parse_versions(const std::string& output);

// `binary wait READY GO` running as an AsyncChild: it executes page 0, then
// waits until go() before faulting in every other page. The READY/GO files
// are the handshake; the process itself is the probe library's.
class ExecRunner {
 public:
  // `deadline`: killed this long after its start (the check's sync timeout:
  // no rank waits longer for the runner's rank at a sync point).
  ExecRunner(std::filesystem::path binary, std::chrono::milliseconds deadline);
  ~ExecRunner();
  ExecRunner(const ExecRunner&) = delete;
  ExecRunner& operator=(const ExecRunner&) = delete;

  // Waits (up to the deadline) until the runner has executed page 0; false if
  // it did not (also at once when it could not be started or already ended).
  bool wait_ready();
  // Stops the runner (SIGSTOP) until go(): it executes nothing, so faults
  // nothing, meanwhile. False (recorded as a failure) if it did not stop.
  bool stop();
  // Lets it go on: it evicts its pages and faults in the others (and, if
  // stopped, continues).
  void go();
  // Waits for the runner to end (killed at its deadline) and returns how it ended.
  const ChildOutcome& finish();

 private:
  std::filesystem::path local_dir_;
  std::chrono::steady_clock::time_point deadline_;
  std::optional<AsyncChild> child_;
};

// The opening of every exec check: rank 0 installs runner version 1 as
// `binary`, and kRunnerRank starts it and waits until it runs. Collective.
// Returns false on every rank when the runner did not start (recorded as a
// failure on its rank); `runner` holds the running process on kRunnerRank.
bool start_runner(CheckContext& ctx, const std::filesystem::path& binary, std::optional<ExecRunner>& runner);

// Overwrites `target` in place (same inode, no truncation) with the bytes of
// `replacement`, fsync'ed; returns "" or the text of the errno that refused it.
std::string overwrite_in_place(const std::filesystem::path& target, const std::filesystem::path& replacement);

// Opens `target` for writing and closes it without writing; "" or the errno text.
std::string try_open_for_writing(const std::filesystem::path& target);

// What one node's kernel does, the control of the cross-client exec checks:
// on `rank`, a runner of another copy of version 1 (its own file on the
// filesystem under test) is started and `rank` tries to open that file for
// writing. Collective; every rank gets "" (allowed) or the errno text
// (ETXTBSY on Linux before 6.11 and from 6.13 on; 6.11 and 6.12 allowed it).
std::string local_deny_write_control(CheckContext& ctx, int rank);

// A judgement on one rank: a failure, a SKIP (what could not be shown), or a
// PASS with a note; `record` reports it to the check.
struct Judgement {
  std::string failure{}, skip{}, note{};
  void record(CheckContext& ctx) const;
};

// The absolute exec rule, once a writer tried to overwrite the running v1
// with v2 (`write_error` "" = it did): the runner must never execute a v2
// page. `control` is an unchanged copy of v1 run alongside on the same
// client. PASS (noted) when the writer got ETXTBSY, the runner was terminated
// by SIGBUS/SIGKILL while the control ran on (a client that kills every
// binary is not safe), or it ran v1 to the end with its pages evicted first
// (SKIP if they stayed resident: the faults never reached the filesystem).
Judgement judge_changed(const ChildOutcome& end, const ChildOutcome& control, const std::string& write_error);

// The recovery case (exec.changed-after-eviction): as judge_changed, except
// that a writer refused with ETXTBSY shows nothing: the binary never changed,
// so what the recovered client does at the runner's next fault was not
// tested. A SKIP saying so, if the runner ran its version 1 to the end.
Judgement judge_changed_after_eviction(const ChildOutcome& end, const ChildOutcome& control,
                                       const std::string& write_error);

}  // namespace dmmap::conform
