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

constexpr int kWriter = 0;
constexpr int kRunnerRank = 1;

void run(CheckContext& ctx) {
  const auto v1 = find_helper("dmmap-conform-runner-v1"), v2 = find_helper("dmmap-conform-runner-v2");
  if (!v1 || !v2) GTEST_SKIP() << "runner helpers not found next to the executable";
  ASSERT_EQ(std::filesystem::file_size(*v1), std::filesystem::file_size(*v2)) << "runner versions differ in layout";
  const auto binary = ctx.path("runner");
  std::optional<BackgroundRunner> runner;
  if (!start_runner(ctx, *v1, binary, kRunnerRank, runner)) return;

  std::string write_error;
  if (ctx.rank() == kWriter) write_error = overwrite_in_place(binary, *v2);
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
    .min_ranks = 2,
    .quick = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
