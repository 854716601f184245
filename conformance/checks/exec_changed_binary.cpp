// exec.changed-binary: one client runs a binary from the filesystem while
// another overwrites the file in place (the seed HLD's case 1: a binary
// changed on another node must never run as a mix of old and new pages).
//
// The runner executes page 0, then the writer (another client) opens the
// file for writing. Then the runner evicts its unexecuted pages, as memory
// pressure would, and faults in every other page, each reporting its version.
//
// PASS: the writer gets ETXTBSY; or the runner is terminated by SIGBUS/SIGKILL
// before it executes a new page; or (noted) the filesystem keeps serving the
// running version. FAIL: a mix of versions, or any other death.
#include <gtest/gtest.h>

#include "check.hpp"
#include "exec_util.hpp"

namespace dmmap::conform {
namespace {

void run(CheckContext& ctx) {
  ASSERT_EQ(std::filesystem::file_size(runner_v1(ctx)), std::filesystem::file_size(runner_v2(ctx)))
      << "runner versions differ in layout";
  const auto binary = ctx.path("runner");
  std::optional<ExecRunner> runner;
  if (!start_runner(ctx, binary, runner)) return;

  std::string write_error;
  if (ctx.rank() == kWriter) write_error = overwrite_in_place(binary, runner_v2(ctx));
  write_error = ctx.allgather(write_error)[kWriter];
  if (ctx.rank() == kRunnerRank) {
    runner->go();
    judge_changed_runner(ctx, runner->finish(), write_error);
  }
  ctx.barrier();
}

const CheckRegistration check({
    .id = "exec.changed-binary",
    .summary = "a binary overwritten in place by another client is never run as a mix of versions",
    .quick = true,
    .helpers = {kRunnerV1, kRunnerV2},
    .distinct_clients = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
