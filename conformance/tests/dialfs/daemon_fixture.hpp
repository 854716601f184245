// A running dmmap-dialfs for a test: a fresh store and mount points under
// /tmp, the daemon started with the given dials, stopped (SIGTERM) and
// checked to leave nothing mounted when the fixture ends.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace dialfs::test {

// Why this machine cannot mount FUSE here ("" when it can): needs root and /dev/fuse.
std::string cannot_mount();

class RunningDialfs {
 public:
  RunningDialfs(const std::vector<std::string>& dials, int mounts = 2);
  ~RunningDialfs();
  RunningDialfs(const RunningDialfs&) = delete;
  RunningDialfs& operator=(const RunningDialfs&) = delete;

  const std::filesystem::path& store() const { return store_; }
  std::filesystem::path mount(int i) const { return mounts_.at(static_cast<std::size_t>(i)); }
  std::filesystem::path file(int mount, const std::string& name) const { return this->mount(mount) / name; }
  pid_t pid() const { return pid_; }
  // SIGTERM, then waits (up to 30 s); the exit status, or -1 if it had to be killed.
  int stop();
  // Waits for the daemon to exit by itself (up to `seconds`); the exit status or -1.
  int wait_exit(int seconds);
  // True if any of its mount points is still mounted.
  bool mounted() const;

 private:
  std::filesystem::path root_, store_;
  std::vector<std::filesystem::path> mounts_;
  pid_t pid_ = -1;
  int status_ = -1;
};

// The path of dmmap-dialfs: $DMMAP_DIALFS, else next to this test binary.
std::filesystem::path dialfs_binary();

}  // namespace dialfs::test
