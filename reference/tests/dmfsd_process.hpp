// Runs the real dmfsd binary on loopback for integration tests and the
// benchmark: a fresh port (--listen 127.0.0.1:0 --port-file), a log file.
#pragma once
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace dmfs::test {

class DmfsdProcess {
 public:
  // root: backing directory; extra: more dmfsd options.
  DmfsdProcess(std::string bin, std::string root, std::vector<std::string> extra = {})
      : bin_(std::move(bin)), root_(std::move(root)), extra_(std::move(extra)) {}
  ~DmfsdProcess() {
    kill(SIGKILL);
    std::error_code ec;
    for (auto& d : old_run_dirs_) std::filesystem::remove_all(d, ec);
    if (!run_dir_.empty()) std::filesystem::remove_all(run_dir_, ec);
  }

  void start() {
    if (!run_dir_.empty()) old_run_dirs_.push_back(run_dir_);
    char tmpl[] = "/tmp/dmfsd-test-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
    run_dir_ = tmpl;
    port_file_ = run_dir_ + "/port";
    log_file_ = run_dir_ + "/dmfsd.log";
    std::vector<std::string> args = {bin_,          "--root",   root_,         "--listen", "127.0.0.1:0",
                                     "--port-file", port_file_, "--log-level", "debug"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, 2);
        dup2(fd, 1);
      }
      std::vector<char*> av;
      for (auto& a : args) av.push_back(const_cast<char*>(a.c_str()));
      av.push_back(nullptr);
      execv(av[0], av.data());
      _exit(127);
    }
    for (int i = 0; i < 1000; ++i) {
      std::ifstream f(port_file_);
      unsigned p = 0;
      if (f >> p && p) {
        port_ = uint16_t(p);
        return;
      }
      int st;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("dmfsd exited at start: " + log());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    throw std::runtime_error("dmfsd did not start: " + log());
  }

  // Sends sig and waits; returns the exit status (or 128+signal).
  int stop(int sig = SIGTERM) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int st = 0;
    for (int i = 0; i < 1000; ++i) {
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        std::filesystem::remove(port_file_);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    waitpid(pid_, &st, 0);
    pid_ = -1;
    return -2;
  }
  void kill(int sig) {
    if (pid_ > 0) stop(sig);
  }

  uint16_t port() const { return port_; }
  std::string log() const {
    std::ifstream f(log_file_);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // Resident set size of the server in KiB (0 if unknown).
  long rss_kib() const {
    std::ifstream f("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(f, line))
      if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
    return 0;
  }

 private:
  std::string bin_, root_;
  std::vector<std::string> extra_;
  std::string run_dir_, port_file_, log_file_;
  std::vector<std::string> old_run_dirs_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

}  // namespace dmfs::test
