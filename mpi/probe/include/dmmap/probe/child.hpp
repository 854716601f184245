// Child processes: the one home for starting one (a program, or a function in
// a forked copy of this process), waiting for it with a deadline, killing it,
// and classifying how it ended. Checks, hooks and benchmarks use nothing else.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "dmmap/fd.hpp"

namespace dmmap {

struct ChildOutcome {
  enum class Kind { exited, signaled, timed_out, spawn_failed };
  Kind kind = Kind::spawn_failed;
  int code = 0;        // exit status, terminating signal, or errno of the failed spawn
  std::string output;  // the child's stdout, when captured

  bool exited_with(int status) const { return kind == Kind::exited && code == status; }
  bool killed_by(int sig) const { return kind == Kind::signaled && code == sig; }
  // "exit 0", "killed by SIGBUS", "timed out", "spawn failed: Text file busy"
  std::string describe() const;
};

struct ChildOptions {
  // The child's deadline, from its start: wait() kills it there (timed_out).
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  bool capture_stdout = false;
  std::vector<std::string> extra_env;  // spawn only: "NAME=value" entries added to this process's environment
};

// A child running alongside the caller. Destroying one that still runs kills
// it (SIGKILL) and reaps it: a child never outlives its owner.
class AsyncChild {
 public:
  using Clock = std::chrono::steady_clock;

  // Starts argv[0] (a path; PATH is not searched) with argv. A failed start
  // is an ended child whose outcome is spawn_failed.
  static AsyncChild spawn(const std::vector<std::string>& argv, const ChildOptions& options = {});
  // Runs `body` in a forked copy of this process and exits with its return
  // value: for what must happen in this address space (a store into a private
  // mapping) or may block for ever (a write past a frozen client). The body
  // may only make system calls: the parent may have other threads.
  static AsyncChild fork(const std::function<int()>& body, const ChildOptions& options = {});

  AsyncChild(AsyncChild&& other) noexcept;
  AsyncChild& operator=(AsyncChild&& other) noexcept;
  AsyncChild(const AsyncChild&) = delete;
  AsyncChild& operator=(const AsyncChild&) = delete;
  ~AsyncChild();

  // True once the child has ended (does not block).
  bool ended();
  // Waits up to `limit` without killing; true once the child has ended.
  bool wait_for(std::chrono::milliseconds limit);
  // Waits until the child ends; at its deadline it is killed and the outcome
  // is timed_out.
  const ChildOutcome& wait();
  // Kills the child now (SIGKILL) and reaps it.
  void kill();
  // Stops the child (SIGSTOP) and waits up to `limit` until it is stopped:
  // from then on it executes nothing until resume(). False if it ended
  // first, or did not stop in time. A stopped child's deadline still runs.
  bool stop(std::chrono::milliseconds limit);
  // Lets a stopped child run on (SIGCONT); nothing if it runs or ended.
  void resume();

  // Final once ended() (the output so far before).
  const ChildOutcome& outcome() const { return outcome_; }
  // From the start to the moment the end was seen.
  std::chrono::milliseconds took() const;

 private:
  explicit AsyncChild(const ChildOptions& options);
  void start_capture();
  void started(int err);
  bool wait_until(Clock::time_point deadline);
  bool reap(int options);
  void read_output();
  void release();

  pid_t pid_ = -1;
  Fd pidfd_;   // readable once the child has ended (Linux 5.3+; else polled)
  Fd output_;  // read end of the stdout pipe, when captured
  Fd output_write_;
  bool ended_ = false;
  Clock::time_point started_, deadline_, ended_at_;
  ChildOutcome outcome_;
};

// Runs argv to its end (or its deadline): AsyncChild::spawn(...).wait().
ChildOutcome run_child(const std::vector<std::string>& argv, const ChildOptions& options = {});

}  // namespace dmmap
