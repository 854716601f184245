// The target hook: an executable the filesystem's owner provides so that a
// few checks can act on a client from outside, as an operator or a network
// failure would (evict it, make it stop answering). The suite cannot do that
// from a user process; each target does it its own way (dmfs: its sysfs knobs
// and dmfsd's admin socket; Lustre: lctl evict_client). Contract in
// docs/conformance.md ("Target hooks").
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "dmmap/exit_status.hpp"

namespace dmmap::conform {

// How one hook call ended.
struct HookResult {
  enum class Status { done, unsupported, failed };
  Status status = Status::failed;
  std::string message;  // the hook's output (stdout and stderr), or why it failed
};

// Exit status a hook uses for "this target cannot do ACTION": the check SKIPs.
inline constexpr int kHookUnsupported = exit_status::kUnsupported;

// Why a check that needs the hook for ACTION skips without one.
std::string no_hook_reason(const std::string& action);

// Runs `hook ACTION DIR`, where DIR is a directory of the client concerned;
// killed at `timeout`.
HookResult run_hook(const std::filesystem::path& hook, const std::string& action, const std::filesystem::path& dir,
                    std::chrono::milliseconds timeout);

// The hook named by --hook or, failing that, $DMMAP_HOOK ("" when neither);
// throws UsageError when it names no executable file.
std::filesystem::path resolve_hook(const std::string& from_option);

}  // namespace dmmap::conform
