// Shared by the exec.* checks: placing the helper programs (declared in the
// checks' `helpers`, found by the framework) on the filesystem under test,
// and running a long-lived runner while the check's ranks synchronise.
#pragma once

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

// The versions a runner reported, in page order ("page I version V" lines);
// `wrong` is set when a page's function returned another page's marker.
struct PageVersions {
  std::vector<int> versions;
  bool wrong = false;
  // "60 pages of version 1", "pages 0-3 version 1, pages 4-59 version 2"
  std::string describe() const;
  bool all(int version) const;
  bool any(int version) const;
};
PageVersions parse_versions(const std::string& output);

// `binary wait READY GO` running as an AsyncChild: it executes page 0, then
// waits until go() before faulting in every other page. The READY/GO files
// are the handshake; the process itself is the probe library's.
class ExecRunner {
 public:
  explicit ExecRunner(std::filesystem::path binary);
  ~ExecRunner();
  ExecRunner(const ExecRunner&) = delete;
  ExecRunner& operator=(const ExecRunner&) = delete;

  // Waits (up to `seconds`) until the runner has executed page 0; false if it
  // did not (also at once when it could not be started or already ended).
  bool wait_ready(int seconds);
  void go();
  // Waits for the runner to end (killed 90 s after its start) and returns how it ended.
  const ChildOutcome& finish();

 private:
  std::filesystem::path local_dir_;
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

// The absolute exec rule, judged on the runner's rank once a writer tried to
// overwrite the running v1 with v2 (`write_error` "" = it did): the runner
// must never execute a v2 page. PASS (noted) when the writer got ETXTBSY, the
// runner was terminated by SIGBUS/SIGKILL, or it ran v1 to the end.
void judge_changed_runner(CheckContext& ctx, const ChildOutcome& end, const std::string& write_error);

}  // namespace dmmap::conform
