#include "dmmap/probe/child.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

extern char** environ;

namespace dmmap {
namespace {

using Clock = AsyncChild::Clock;

// After a kill, how long to wait for the end before giving up on reaping (a
// process stuck in an uninterruptible wait; the zombie goes with us).
constexpr auto kReapAfterKill = std::chrono::seconds(5);

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// A descriptor that becomes readable when `pid` ends; invalid where the
// kernel has no pidfd_open (before 5.3): the waits then poll.
Fd open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  return Fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
#else
  (void)pid;
  return Fd();
#endif
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

AsyncChild::AsyncChild(const ChildOptions& options)
    : started_(Clock::now()), deadline_(started_ + options.timeout), ended_at_(started_) {
  if (options.capture_stdout) start_capture();
}

void AsyncChild::start_capture() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    outcome_.code = errno;
    ended_ = true;
    return;
  }
  output_.reset(fds[0]);
  output_write_.reset(fds[1]);
  ::fcntl(output_.get(), F_SETFL, O_NONBLOCK);
}

AsyncChild AsyncChild::spawn(const std::vector<std::string>& argv, const ChildOptions& options) {
  AsyncChild child(options);
  if (child.ended_) return child;  // no pipe
  std::vector<std::string> args = argv;
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  env.insert(env.end(), options.extra_env.begin(), options.extra_env.end());
  auto c_args = c_strings(args);
  auto c_env = c_strings(env);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (child.output_write_) posix_spawn_file_actions_adddup2(&actions, child.output_write_.get(), STDOUT_FILENO);
  const int err = ::posix_spawn(&child.pid_, args.at(0).c_str(), &actions, nullptr, c_args.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  child.started(err);
  return child;
}

AsyncChild AsyncChild::fork(const std::function<int()>& body, const ChildOptions& options) {
  AsyncChild child(options);
  if (child.ended_) return child;
  child.pid_ = ::fork();
  if (child.pid_ == 0) {
    if (child.output_write_) ::dup2(child.output_write_.get(), STDOUT_FILENO);
    ::_exit(body());
  }
  child.started(child.pid_ < 0 ? errno : 0);
  return child;
}

// After the start (`err`: 0, or why it failed): the parent's end of the pipe
// closes, and a child that runs gets its pidfd; one that did not has ended.
void AsyncChild::started(int err) {
  output_write_.reset();
  if (err == 0) {
    pidfd_ = open_pidfd(pid_);
    return;
  }
  pid_ = -1;
  outcome_.code = err;
  ended_ = true;
}

AsyncChild::AsyncChild(AsyncChild&& other) noexcept { *this = std::move(other); }

AsyncChild& AsyncChild::operator=(AsyncChild&& other) noexcept {
  if (this != &other) {
    release();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::move(other.pidfd_);
    output_ = std::move(other.output_);
    output_write_ = std::move(other.output_write_);
    ended_ = std::exchange(other.ended_, true);
    started_ = other.started_;
    deadline_ = other.deadline_;
    ended_at_ = other.ended_at_;
    outcome_ = std::move(other.outcome_);
  }
  return *this;
}

AsyncChild::~AsyncChild() { release(); }

void AsyncChild::release() {
  if (pid_ > 0 && !ended_) kill();
}

bool AsyncChild::ended() { return ended_ || reap(WNOHANG); }

bool AsyncChild::wait_for(std::chrono::milliseconds limit) { return wait_until(Clock::now() + limit); }

const ChildOutcome& AsyncChild::wait() {
  if (!wait_until(deadline_)) {
    kill();
    outcome_.kind = ChildOutcome::Kind::timed_out;
    outcome_.code = 0;
  }
  return outcome_;
}

void AsyncChild::kill() {
  if (ended_ || pid_ <= 0) return;
  ::kill(pid_, SIGKILL);  // a killable wait in the kernel ends now
  wait_until(Clock::now() + kReapAfterKill);
}

bool AsyncChild::stop(std::chrono::milliseconds limit) {
  if (ended() || ::kill(pid_, SIGSTOP) != 0) return false;
  const auto deadline = Clock::now() + limit;
  for (;;) {
    // WNOWAIT: the stop is only looked at, and an end stays for reap().
    siginfo_t info{};
    int r = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WSTOPPED | WEXITED | WNOHANG | WNOWAIT);
    if (r == 0 && info.si_pid == pid_) return info.si_code == CLD_STOPPED;
    if ((r != 0 && errno != EINTR) || Clock::now() >= deadline) return false;
    ::usleep(1000);
  }
}

void AsyncChild::resume() {
  if (!ended()) ::kill(pid_, SIGCONT);
}

std::chrono::milliseconds AsyncChild::took() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(ended_at_ - started_);
}

// Reads what the child wrote so far (the pipe is non-blocking).
void AsyncChild::read_output() {
  if (!output_) return;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(output_.get(), buf, sizeof buf);
    if (n > 0) {
      outcome_.output.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) output_.reset();  // EOF: every writer has closed it
    return;
  }
}

// Collects the child's status if it has ended (`options`: WNOHANG or 0).
bool AsyncChild::reap(int options) {
  if (ended_) return true;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, options);
  while (r < 0 && errno == EINTR) r = ::waitpid(pid_, &status, options);
  if (r == 0) return false;
  ended_ = true;
  ended_at_ = Clock::now();
  pidfd_.reset();
  if (r < 0) {  // not our child any more (reaped elsewhere): nothing to classify
    outcome_.kind = ChildOutcome::Kind::exited;
    outcome_.code = -1;
  } else if (WIFSIGNALED(status)) {
    outcome_.kind = ChildOutcome::Kind::signaled;
    outcome_.code = WTERMSIG(status);
  } else {
    outcome_.kind = ChildOutcome::Kind::exited;
    outcome_.code = WEXITSTATUS(status);
  }
  return true;
}

// Waits for the end (and, when captured, the end of the output) until
// `deadline`; true once the child has ended.
bool AsyncChild::wait_until(Clock::time_point deadline) {
  for (;;) {
    read_output();
    const bool done = reap(WNOHANG);
    if (done && !output_) return true;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return done;  // output still open (a grandchild holds it): keep what came
    pollfd fds[2];
    nfds_t n = 0;
    if (!done && pidfd_) fds[n++] = {pidfd_.get(), POLLIN, 0};
    if (output_) fds[n++] = {output_.get(), POLLIN, 0};
    // Without a pidfd the end of the child is polled every millisecond.
    const long step = (!done && !pidfd_) ? 1 : left.count();
    ::poll(fds, n, static_cast<int>(std::min<long>(step, left.count())));
  }
}

ChildOutcome run_child(const std::vector<std::string>& argv, const ChildOptions& options) {
  AsyncChild child = AsyncChild::spawn(argv, options);
  return child.wait();
}

}  // namespace dmmap
