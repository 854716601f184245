// Run a child process and classify how it ended.
#pragma once

#include <chrono>
#include <string>
#include <vector>

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
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  bool capture_stdout = false;
  std::vector<std::string> extra_env;  // "NAME=value" entries added to this process's environment
};

// Runs argv[0] (a path; PATH is not searched) with argv; the child gets SIGKILL at the timeout.
ChildOutcome run_child(const std::vector<std::string>& argv, const ChildOptions& options = {});

}  // namespace dmmap
