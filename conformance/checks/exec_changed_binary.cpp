// exec.changed-binary: one client runs a binary from the filesystem while
// another overwrites the file in place (the seed HLD's case 1: a binary
// changed on another node must never run as a mix of old and new pages).
//
// The runner executes page 0, then the writer (another client) opens the
// file for writing. Then the runner evicts its unexecuted pages, as memory
// pressure would, and faults in every other page, each reporting its version.
//
// An unchanged copy (the control) runs alongside on the runner's client, and
// the writer's own kernel is asked first what one node does (a runner on its
// own client, opened for writing): both only to judge, never graded.
//
// PASS: the writer gets ETXTBSY; or the runner is terminated by SIGBUS/SIGKILL
// before it executes a new page while the control runs on; or (noted) the
// filesystem keeps serving the running version, its pages evicted first. FAIL:
// a mix of versions, any other death, or the control terminated too.
#include <gtest/gtest.h>

#include "check.hpp"
#include "exec_util.hpp"

namespace dmmap::conform {
namespace {

void run(CheckContext& ctx) {
  ASSERT_EQ(std::filesystem::file_size(runner_v1(ctx)), std::filesystem::file_size(runner_v2(ctx)))
      << "runner versions differ in layout";
  local_deny_write_control(ctx, kWriter);
  const auto binary = ctx.path("runner");
  std::optional<ExecRunner> runner, control;
  if (!start_runner(ctx, binary, runner)) return;
  if (!start_runner(ctx, ctx.path("control"), control)) return;

  std::string write_error;
  if (ctx.rank() == kWriter) write_error = overwrite_in_place(binary, runner_v2(ctx));
  write_error = ctx.allgather(write_error)[kWriter];
  if (ctx.rank() == kRunnerRank) {
    runner->go();
    control->go();
    judge_changed(runner->finish(), control->finish(), write_error).record(ctx);
  }
  ctx.barrier();
}

const CheckRegistration check({
    .id = "exec.changed-binary",
    .summary = "a binary overwritten in place by another client is never run as a mix of versions",
    .quick = true,
    .helpers = {kRunnerV1, kRunnerV2},
    .distinct_clients = true,
    .runs_from_target = true,
    .forks = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
