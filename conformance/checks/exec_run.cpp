// exec.run: a binary and a shared library copied onto the filesystem by one
// client run on every client (the seed HLD's case 1: executables stored on
// the cluster filesystem, demand-paged through its page cache).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "check.hpp"
#include "exec_util.hpp"

namespace dmmap::conform {
namespace {

constexpr const char* kLib = "libdmmap-conform-testlib.so";

void run(CheckContext& ctx) {
  // Root places both programs on the filesystem.
  if (ctx.rank() == 0)
    for (const char* name : {kRunnerV1, kLib}) copy_file_to(ctx.helper(name), ctx.path(name), 0755);
  ctx.barrier();
  ChildOptions options;
  options.capture_stdout = true;
  options.timeout = std::chrono::seconds(30);

  // The binary itself: every one of its code pages is faulted in from this client's view.
  ChildOutcome once = run_child({ctx.path(kRunnerV1).string(), "once"}, options);
  PageVersions pv = parse_versions(once.output);
  if (!once.exited_with(0)) ADD_FAILURE() << "the binary copied onto the filesystem: " << once.describe();
  if (!pv.complete(1)) ADD_FAILURE() << "binary executed " << pv.describe();

  // The library: read-only code and data, and a writable data segment (counter 41 -> 42, 43).
  ChildOutcome lib = run_child({ctx.path(kRunnerV1).string(), "dlopen", ctx.path(kLib).string()}, options);
  if (!lib.exited_with(0)) ADD_FAILURE() << "dlopen run: " << lib.describe() << ": " << lib.output;
  if (lib.output.find("lib dmmap-testlib counter 42 43") == std::string::npos)
    ADD_FAILURE() << "library code or data wrong: '" << lib.output << "'";
  ctx.barrier();
}

const CheckRegistration check({
    .id = "exec.run",
    .summary = "a binary and a dlopen()ed library copied on by one client run on every client",
    .quick = true,
    .helpers = {kRunnerV1, kLib},
    .runs_from_target = true,
    .forks = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
