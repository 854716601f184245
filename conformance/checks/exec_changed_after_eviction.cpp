// exec.changed-after-eviction: the seed HLD's recovery case (section 8). A
// client is evicted while a process runs a binary from the filesystem; while
// it recovers, another client changes the binary; the process must then be
// terminated at its next fault, never run new pages. A second binary that
// did not change must run on: only changed binaries are terminated.
//
// Both runners are stopped (SIGSTOP) across the eviction and the overwrite,
// as processes that are not scheduled while their client recovers: nothing
// on the runner's client faults in between, so no fault can set their exec
// registrations again before the writer opens the binary.
//
// Eviction is done by the target hook (`HOOK evict DIR` on the runner's
// node); without one (or with one that cannot evict) the check SKIPs. The hook returns once the client is
// usable again, so the runner's next faults are served, not refused.
//
// PASS as exec.changed-binary (runner terminated, or the old version kept),
// and the unchanged runner ends normally with every page old. A writer
// refused (ETXTBSY) changed nothing: SKIP, the recovery was not exercised.
#include <gtest/gtest.h>

#include "check.hpp"
#include "exec_util.hpp"

namespace dmmap::conform {
namespace {

void run(CheckContext& ctx) {
  std::optional<ExecRunner> changed, same;
  if (!start_runner(ctx, ctx.path("changed"), changed)) return;
  if (!start_runner(ctx, ctx.path("same"), same)) return;
  if (!ctx.all(ctx.rank() != kRunnerRank || (changed->stop() && same->stop()))) return;

  const HookResult evicted = ctx.hook(kRunnerRank, "evict");
  if (evicted.status == HookResult::Status::failed) {
    if (ctx.rank() == kRunnerRank) ADD_FAILURE() << evicted.message;
    return;
  }
  if (ctx.rank() == kRunnerRank && !evicted.message.empty()) ctx.note("hook: " + evicted.message);

  std::string write_error;
  if (ctx.rank() == kWriter) write_error = overwrite_in_place(ctx.path("changed"), runner_v2(ctx));
  write_error = ctx.allgather(write_error)[kWriter];
  if (ctx.rank() == kRunnerRank) {
    changed->go();
    same->go();
    const ChildOutcome& end = same->finish();
    const PageVersions pv = parse_versions(end.output);
    EXPECT_TRUE(end.exited_with(0) && pv.complete(1))
        << "the binary nobody changed did not run on after the eviction: it " << end.describe() << " after executing "
        << pv.describe();
    judge_changed_after_eviction(changed->finish(), end, write_error).record(ctx);
  }
  ctx.barrier();
}

const CheckRegistration check({
    .id = "exec.changed-after-eviction",
    .summary = "a binary changed while its runner's client was evicted is never run as a mix (needs --hook)",
    .hook_actions = {"evict"},
    .helpers = {kRunnerV1, kRunnerV2},
    .distinct_clients = true,
    .runs_from_target = true,
    .forks = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
