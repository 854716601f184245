// exec.deny-write: while one client runs a binary, another client's open of
// that file for writing is refused with ETXTBSY, as on one Linux node (the
// seed HLD maps binaries DENYWRITE; issue 7 asks for it cluster-wide), and is
// allowed again once the binary has stopped running.
//
// Level: strict when the remote open is refused with ETXTBSY; close-to-open
// when it is allowed (what NFS gives: its clients deny writes only locally;
// exec.changed-binary then decides whether the runner stays safe). Absolute:
// a refusal with another errno, a runner that does not run to the end (the
// open writes nothing), or an open still refused after the runner ended (a
// registration that outlived the process).
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

#include "check.hpp"
#include "exec_util.hpp"

namespace dmmap::conform {
namespace {

constexpr int kWriter = 0;
constexpr int kRunnerRank = 1;

void judge_writer(CheckContext& ctx, const std::string& while_running, const std::string& after) {
  if (while_running.empty())
    ctx.reached(Level::close_to_open, "another client opened the running binary for writing");
  else if (while_running == std::strerror(ETXTBSY))
    ctx.reached(Level::strict, "another client's open for writing refused with ETXTBSY, as on one node");
  else
    ADD_FAILURE() << "another client's open for writing failed with '" << while_running << "', not ETXTBSY";
  EXPECT_EQ(after, "") << "after the runner ended, another client still cannot open the binary for writing "
                          "(a deny-write registration outlived the process)";
}

void run(CheckContext& ctx) {
  const auto v1 = find_helper("dmmap-conform-runner-v1");
  if (!v1) GTEST_SKIP() << "runner helper not found next to the executable";
  const auto binary = ctx.path("runner");
  std::optional<BackgroundRunner> runner;
  if (!start_runner(ctx, *v1, binary, kRunnerRank, runner)) return;

  std::string while_running;
  if (ctx.rank() == kWriter) while_running = try_open_for_writing(binary);
  ctx.barrier();
  if (ctx.rank() == kRunnerRank) {
    runner->go();
    const ChildOutcome& end = runner->finish();
    const PageVersions pv = parse_versions(end.output);
    EXPECT_TRUE(end.exited_with(0) && pv.all(1))
        << "nothing wrote the binary, yet the runner " << end.describe() << " after executing " << pv.describe();
  }
  ctx.barrier();  // the runner has ended on its client
  if (ctx.rank() == kWriter) judge_writer(ctx, while_running, try_open_for_writing(binary));
}

const CheckRegistration check({
    .id = "exec.deny-write",
    .summary = "another client cannot open a running binary for writing (ETXTBSY), and can once it ends",
    .min_ranks = 2,
    .measures_level = true,
    .quick = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
