#include "daemon_fixture.hpp"

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace dialfs::test {

namespace fs = std::filesystem;

std::string cannot_mount() {
  if (::geteuid() != 0) return "mounting FUSE with allow_other needs root";
  if (::access("/dev/fuse", R_OK | W_OK) != 0) return "no usable /dev/fuse";
  return "";
}

fs::path dialfs_binary() {
  if (const char* env = std::getenv("DMMAP_DIALFS")) return env;
  return fs::read_symlink("/proc/self/exe").parent_path() / "dmmap-dialfs";
}

namespace {

// Reads the daemon's first line (its banner) within `seconds`; "" if none.
std::string first_line(int fd, int seconds) {
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char ch;
    const ssize_t n = ::read(fd, &ch, 1);
    if (n <= 0) break;
    if (ch == '\n') return line;
    line += ch;
  }
  return "";
}

}  // namespace

RunningDialfs::RunningDialfs(const std::vector<std::string>& dials, int mounts) {
  char root[] = "/tmp/dialfs-test-XXXXXX";
  if (!::mkdtemp(root)) throw std::runtime_error("mkdtemp failed");
  root_ = root;
  store_ = root_ / "store";
  fs::create_directory(store_);
  std::vector<std::string> args = {dialfs_binary().string(), "--store", store_.string()};
  for (int i = 0; i < mounts; ++i) {
    mounts_.push_back(root_ / ("client" + std::to_string(i)));
    fs::create_directory(mounts_.back());
    args.insert(args.end(), {"--mount", mounts_.back().string()});
  }
  args.insert(args.end(), dials.begin(), dials.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  const int rc = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    throw std::runtime_error(std::string("cannot start ") + argv[0] + ": " + std::strerror(rc));
  }
  const std::string banner = first_line(out[0], 20);
  ::close(out[0]);  // the daemon's later output (none) would get EPIPE, never block
  if (banner.rfind("dmmap-dialfs: serving", 0) != 0) {
    const int status = stop();
    throw std::runtime_error("dmmap-dialfs did not start (status " + std::to_string(status) + ")");
  }
}

int RunningDialfs::wait_exit(int seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (pid_ > 0) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return status_;
}

int RunningDialfs::stop() {
  if (pid_ <= 0) return status_;
  ::kill(pid_, SIGTERM);
  if (wait_exit(30) < 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    status_ = -1;
  }
  return status_;
}

bool RunningDialfs::mounted() const {
  std::ifstream info("/proc/self/mountinfo");
  std::string line;
  while (std::getline(info, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    fields >> id >> parent >> dev >> root >> point;
    for (const auto& m : mounts_)
      if (point == m.string()) return true;
  }
  return false;
}

RunningDialfs::~RunningDialfs() {
  stop();
  for (const auto& m : mounts_) ::umount2(m.c_str(), MNT_DETACH);  // only after a failure: stop() unmounts
  std::error_code ignored;
  if (!mounted()) fs::remove_all(root_, ignored);
}

}  // namespace dialfs::test
