#include "target_hook.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>

#include "dmmap/options.hpp"
#include "dmmap/probe/child.hpp"

namespace dmmap::conform {
namespace {

// The last lines of a hook's output, enough to say why without flooding a report.
std::string tail(const std::string& output) {
  constexpr std::size_t kMax = 600;
  std::string t = output.size() > kMax ? "..." + output.substr(output.size() - kMax) : output;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  return t;
}

}  // namespace

std::string no_hook_reason(const std::string& action) {
  return fmt::format("needs a target hook that can '{}' a client (--hook or DMMAP_HOOK; see docs/conformance.md)",
                     action);
}

HookResult run_hook(const std::filesystem::path& hook, const std::string& action, const std::filesystem::path& dir,
                    std::chrono::milliseconds timeout) {
  // sh only joins the hook's stderr to its stdout: run_child captures stdout.
  ChildOptions options;
  options.timeout = timeout;
  options.capture_stdout = true;
  const ChildOutcome end = run_child({"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1", hook.string(), action, dir.string()},
                                     options);
  const std::string call = fmt::format("hook '{} {} {}'", hook.string(), action, dir.string());
  if (end.exited_with(0)) return {HookResult::Status::done, tail(end.output)};
  if (end.exited_with(kHookUnsupported))
    return {HookResult::Status::unsupported,
            fmt::format("{}: not supported by this target: {}", call, tail(end.output))};
  return {HookResult::Status::failed, fmt::format("{} failed ({}): {}", call, end.describe(), tail(end.output))};
}

std::filesystem::path resolve_hook(const std::string& from_option) {
  std::string hook = from_option;
  if (hook.empty()) {
    const char* env = std::getenv("DMMAP_HOOK");
    hook = env ? env : "";
  }
  if (hook.empty()) return {};
  const std::string origin = from_option.empty() ? "DMMAP_HOOK" : "--hook";
  std::error_code ec;
  if (!std::filesystem::is_regular_file(hook, ec) || ::access(hook.c_str(), X_OK) != 0)
    throw UsageError(fmt::format("{} '{}' is not an executable file", origin, hook));
  return std::filesystem::absolute(hook);
}

}  // namespace dmmap::conform
