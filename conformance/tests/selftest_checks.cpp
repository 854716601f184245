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

const CheckRegistration fatal({.id = "selftest.fatal-early", .summary = "one rank fails fatally", .run = fatal_early});
const CheckRegistration after(
    {.id = "selftest.level", .summary = "reports msync", .measures_level = true, .run = level_probe});
const CheckRegistration stuck({.id = "selftest.zz-hang", .summary = "one rank never arrives", .run = hang});

}  // namespace
}  // namespace dmmap::conform
