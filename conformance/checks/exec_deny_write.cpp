// exec.deny-write: while one client runs a binary, another client's open of
// that file for writing is refused with ETXTBSY, as on one Linux node (the
// seed HLD maps binaries DENYWRITE; issue 7 asks for it cluster-wide), and is
// allowed again once the binary has stopped running.
//
// Level, on the ladder (ladder.hpp) with the runner's registration as the
// change: strict when the remote open is refused with ETXTBSY while the
// binary runs; close-to-open when it is allowed (what NFS gives: its clients
// deny writes only locally; exec.changed-binary then decides whether the
// runner stays safe) and, once the runner has ended, allowed. Absolute: a
// refusal with another errno, a runner that does not run to the end (the
// open writes nothing), or an open still refused after the runner ended (a
// registration that outlived the process).
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

#include "check.hpp"
#include "exec_util.hpp"
#include "ladder.hpp"

namespace dmmap::conform {
namespace {

constexpr int kOpener = kWriter;  // tries to open the binary for writing: grades the runner's registration

// How the opener's attempt while the binary runs grades: refused with
// ETXTBSY is seen at strict; allowed is not seen (close-to-open next); any
// other errno is a failure.
bool refused_while_running(const std::string& error) {
  if (error.empty()) return false;
  if (error == std::strerror(ETXTBSY)) return true;
  ADD_FAILURE() << "another client's open for writing failed with '" << error << "', not ETXTBSY";
  return false;
}

void run(CheckContext& ctx) {
  // One node first: a kernel that lets a local writer open a running binary
  // (Linux 6.11, 6.12) gives no ETXTBSY to grade a cluster against.
  const std::string local = local_deny_write_control(ctx, kOpener);
  if (local != std::strerror(ETXTBSY))
    throw CheckSkipped("the kernel of rank " + std::to_string(kOpener) +
                       " does not refuse a local writer of a running binary with ETXTBSY (" +
                       (local.empty() ? std::string("allowed") : local) +
                       "): there is no one-node behaviour to expect");
  const auto binary = ctx.path("runner");
  std::optional<ExecRunner> runner;
  if (!start_runner(ctx, binary, runner)) return;
  climb(ctx, {.what = "another client's open for writing of the running binary (refused: ETXTBSY, as on one node)",
              .writer = ctx.rank() == kRunnerRank,
              .reader = ctx.rank() == kOpener,
              // No msync rung: an exec registration has nothing to msync.
              .close =
                  [&] {
                    if (ctx.rank() != kRunnerRank) return;
                    runner->go();
                    const ChildOutcome& end = runner->finish();
                    const PageVersions pv = parse_versions(end.output);
                    EXPECT_TRUE(end.exited_with(0) && pv.all(1))
                        << "nothing wrote the binary, yet the runner " << end.describe() << " after executing "
                        << pv.describe();
                  },
              .look =
                  [&](Level rung) {
                    const std::string error = try_open_for_writing(binary);
                    if (rung == Level::strict) return refused_while_running(error);
                    EXPECT_EQ(error, "") << "after the runner ended, another client still cannot open the binary for "
                                            "writing (a deny-write registration outlived the process)";
                    return error.empty();
                  }});
}

const CheckRegistration check({
    .id = "exec.deny-write",
    .summary = "another client cannot open a running binary for writing (ETXTBSY), and can once it ends",
    .measures_level = true,
    .quick = true,
    .helpers = {kRunnerV1},
    .distinct_clients = true,
    .runs_from_target = true,
    .forks = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
