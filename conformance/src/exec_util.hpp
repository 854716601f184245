// Shared by the exec.* checks: finding the helper programs built next to
// dmmap-conform, placing them on the filesystem under test, and running a
// long-lived runner in the background while the check's ranks synchronise.
#pragma once

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "check.hpp"
#include "dmmap/probe/child.hpp"

namespace dmmap::conform {

// A helper (dmmap-conform-runner-v1, ...) next to the running executable or
// one directory up (the self-test binary lives in tests/); nullopt if absent.
std::optional<std::filesystem::path> find_helper(const std::string& name);

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

// Runs `binary wait READY GO` in the background: it executes page 0, then
// waits until go() before faulting in every other page.
class BackgroundRunner {
 public:
  explicit BackgroundRunner(std::filesystem::path binary);
  ~BackgroundRunner();
  BackgroundRunner(const BackgroundRunner&) = delete;
  BackgroundRunner& operator=(const BackgroundRunner&) = delete;

  // Waits (up to `seconds`) until the runner has executed page 0; false if it
  // did not (also at once when it could not be started or already ended).
  bool wait_ready(int seconds);
  void go();
  // Waits for the runner to end and returns how it ended.
  const ChildOutcome& finish();

 private:
  std::filesystem::path binary_, local_dir_;
  std::thread thread_;
  ChildOutcome outcome_;
  std::atomic<bool> ended_{false};  // set by the thread once outcome_ is final
  bool finished_ = false;
};

// The opening of every exec check: rank 0 installs `v1` as `binary`, and
// `runner_rank` starts it and waits until it runs. Collective. Returns false on
// every rank when the runner did not start (recorded as a failure on its rank);
// `runner` holds the running process on `runner_rank`.
bool start_runner(CheckContext& ctx, const std::filesystem::path& v1, const std::filesystem::path& binary,
                  int runner_rank, std::optional<BackgroundRunner>& runner);

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
