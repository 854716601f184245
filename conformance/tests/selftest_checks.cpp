// Checks that misbehave on purpose, compiled only into dmmap-conform-selftest:
// they prove that the framework reports a hang and an early failure by rank
// instead of hanging. DMMAP_SELFTEST_RANK picks the misbehaving rank.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

#include "check.hpp"

namespace dmmap::conform {
namespace {

int chosen_rank() {
  const char* r = std::getenv("DMMAP_SELFTEST_RANK");
  return r ? std::atoi(r) : 1;
}

void fatal_early(CheckContext& ctx) {
  if (ctx.rank() == chosen_rank()) {
    ASSERT_TRUE(false) << "deliberate fatal failure before the first sync point";
  }
  ctx.barrier();
  ctx.barrier();
}

void hang(CheckContext& ctx) {
  if (ctx.rank() == chosen_rank() && std::getenv("DMMAP_SELFTEST_HANG")) ::pause();
  ctx.barrier();
}

void level_probe(CheckContext& ctx) { ctx.reached(Level::msync, "self-test level"); }

// The chosen rank meets an environment limit (SKIP), the others fail: the
// check must FAIL.
void skip_and_fail(CheckContext& ctx) {
  if (ctx.rank() == chosen_rank()) GTEST_SKIP() << "deliberate environment limit";
  ADD_FAILURE() << "deliberate failure beside a skip";
}

// Rank 0 fails 300 ms after the chosen rank: the reason is the chosen rank's.
void late_and_early(CheckContext& ctx) {
  if (ctx.rank() == chosen_rank()) ADD_FAILURE() << "the first failure in time";
  if (ctx.rank() == 0) {
    ::usleep(300000);
    ADD_FAILURE() << "a later failure on the lowest rank";
  }
  ctx.barrier();
}

// With DMMAP_SELFTEST_ENDLESS: synchronises forever, until the time limit.
void endless(CheckContext& ctx) {
  while (std::getenv("DMMAP_SELFTEST_ENDLESS")) ctx.barrier();
}

const CheckRegistration fatal({.id = "selftest.fatal-early", .summary = "one rank fails fatally", .run = fatal_early});
const CheckRegistration after(
    {.id = "selftest.level", .summary = "reports msync", .measures_level = true, .run = level_probe});
const CheckRegistration skip_fail({.id = "selftest.skip-and-fail",
                                   .summary = "one rank skips, the others fail",
                                   .run = skip_and_fail});
const CheckRegistration first_in_time({.id = "selftest.late-and-early",
                                       .summary = "the reason is the first failure",
                                       .run = late_and_early});
const CheckRegistration forever({.id = "selftest.endless", .summary = "never ends by itself", .run = endless});
const CheckRegistration stuck({.id = "selftest.zz-hang", .summary = "one rank never arrives", .run = hang});

}  // namespace
}  // namespace dmmap::conform
