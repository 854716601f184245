// exec.replace-by-rename: the safe way to update a binary (what package
// managers and `install` do): write the new version under a temporary name on
// one client and rename it over the running binary. The running process must
// finish with the old code (its inode lives on); a new start runs the new one.
//
// The runner evicts the pages of the inode it runs (/proc/self/exe: after the
// rename its path names the new file) and confirms with mincore() that they
// are gone, so its later pages are faulted in from the renamed-over inode;
// pages that stay resident (tmpfs keeps them) make it a SKIP: the check
// would only show that this client's cache kept them.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "check.hpp"
#include "exec_util.hpp"

namespace dmmap::conform {
namespace {

Judgement judge_renamed_over(const ChildOutcome& end) {
  const PageVersions pv = parse_versions(end.output);
  if (!(end.exited_with(0) && pv.complete(1)))
    return {
        .failure = fmt::format("the running binary, renamed over, did not finish with its old code: {} after {}; {}",
                               end.describe(), pv.describe(), pv.describe_eviction())};
  if (!pv.evicted())
    return {.skip = fmt::format("the running binary's pages could not be evicted ({}): it finished from this client's "
                                "cache, so whether the filesystem still serves the renamed-over inode at a fault is "
                                "not shown",
                                pv.describe_eviction())};
  return {.note = "the runner finished on its old inode: " + pv.describe_eviction()};
}

void run(CheckContext& ctx) {
  const auto binary = ctx.path("runner");
  std::optional<ExecRunner> runner;
  if (!start_runner(ctx, binary, runner)) return;

  if (ctx.rank() == kWriter) {
    copy_file_to(runner_v2(ctx), ctx.path("runner.new"), 0755);
    ASSERT_EQ(std::rename(ctx.path("runner.new").c_str(), binary.c_str()), 0) << "rename: " << std::strerror(errno);
  }
  ctx.barrier();
  if (ctx.rank() == kRunnerRank) {
    runner->go();
    const ChildOutcome& end = runner->finish();
    judge_renamed_over(end).record(ctx);
  }
  ctx.barrier();

  // Every client starting the program now gets the new version.
  ChildOptions options;
  options.capture_stdout = true;
  ChildOutcome fresh = run_child({binary.string(), "once"}, options);
  const PageVersions pv = parse_versions(fresh.output);
  if (!(fresh.exited_with(0) && pv.all(2) && !pv.wrong))
    ADD_FAILURE() << "a new start after the rename: " << fresh.describe() << ", executed " << pv.describe();
  ctx.barrier();
}

const CheckRegistration check({
    .id = "exec.replace-by-rename",
    .summary = "a binary replaced by rename keeps running old code; a new start runs the new one",
    .helpers = {kRunnerV1, kRunnerV2},
    .distinct_clients = true,
    .runs_from_target = true,
    .forks = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
