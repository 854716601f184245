// The framework's side of what a check declares it needs (CheckInfo): whether
// each need is met here, decided before the check's body runs and the same on
// every rank, and how --list shows the needs.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "check.hpp"
#include "dmmap/sync.hpp"

namespace dmmap::conform {

struct NeedsVerdict {
  std::string unmet;                                     // "" when met, else the SKIP reason
  std::map<std::string, std::filesystem::path> helpers;  // the declared helpers, found on this rank
};

// Collective over the check's roles (`sync`) when the check declares hook
// actions, helpers, that it runs programs from the target or that it starts
// processes (one sync point in the check's phase): ranks (`started` in the
// job), exec on `scratch` (each rank's view), helpers, the hook, then whether
// each rank can start a process (tried once per rank; a hook that is set is
// run as one). Two distinct clients are not a need
// that can be unmet: the roles are given so that the writer and the reader are
// two clients when the run has two, and a run with one is a control run (the
// report says so) in which every check still runs.
NeedsVerdict check_needs(const CheckInfo& info, Sync& sync, int started, const RunParams& params,
                         const std::filesystem::path& scratch);

// Whether this process can start a child (0) or why not (errno: a seccomp
// filter, RLIMIT_NPROC, a full pid cgroup), tried once per rank with a child
// that exits at once.
int fork_error();

// "2 clients; exec; fork; hook: evict; helpers: dmmap-conform-runner-v1", or "" (for --list).
std::string describe_needs(const CheckInfo& info);

// A helper (dmmap-conform-runner-v1, ...) next to the running executable or
// one directory up (the self-test binary lives in tests/); nullopt if absent.
std::optional<std::filesystem::path> find_helper(const std::string& name);

}  // namespace dmmap::conform
