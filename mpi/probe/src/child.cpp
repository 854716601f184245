#include "dmmap/probe/child.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "dmmap/probe/fd.hpp"

extern char** environ;

namespace dmmap {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Reads the pipe until EOF or the deadline; returns false on timeout.
bool drain(int fd, std::string& sink, Clock::time_point deadline) {
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{fd, POLLIN, 0};
    int r = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return r == 0 ? false : true;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    sink.append(buf, static_cast<std::size_t>(n));
  }
}

// Waits for the child until the deadline; returns false on timeout.
bool wait_until(pid_t pid, int& status, Clock::time_point deadline) {
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno != EINTR) return true;
    if (Clock::now() >= deadline) return false;
    ::usleep(1000);
  }
}

}  // namespace

std::string ChildOutcome::describe() const {
  switch (kind) {
    case Kind::exited: return fmt::format("exit {}", code);
    case Kind::signaled: return fmt::format("killed by SIG{}", sigabbrev_np(code) ? sigabbrev_np(code) : "?");
    case Kind::timed_out: return "timed out";
    case Kind::spawn_failed: return fmt::format("spawn failed: {}", strerror(code));
  }
  return "?";
}

ChildOutcome run_child(const std::vector<std::string>& argv, const ChildOptions& options) {
  ChildOutcome outcome;
  std::vector<std::string> args = argv;
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  env.insert(env.end(), options.extra_env.begin(), options.extra_env.end());
  auto c_args = c_strings(args);
  auto c_env = c_strings(env);

  Fd read_end, write_end;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (options.capture_stdout) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      outcome.code = errno;
      posix_spawn_file_actions_destroy(&actions);
      return outcome;
    }
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
  }
  pid_t pid = 0;
  int err = ::posix_spawn(&pid, args.at(0).c_str(), &actions, nullptr, c_args.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  write_end.reset();
  if (err != 0) {
    outcome.code = err;
    return outcome;
  }

  const auto deadline = Clock::now() + options.timeout;
  bool in_time = !options.capture_stdout || drain(read_end.get(), outcome.output, deadline);
  int status = 0;
  if (in_time) in_time = wait_until(pid, status, deadline);
  if (!in_time) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    outcome.kind = ChildOutcome::Kind::timed_out;
    return outcome;
  }
  if (WIFSIGNALED(status)) {
    outcome.kind = ChildOutcome::Kind::signaled;
    outcome.code = WTERMSIG(status);
  } else {
    outcome.kind = ChildOutcome::Kind::exited;
    outcome.code = WEXITSTATUS(status);
  }
  return outcome;
}

}  // namespace dmmap
