// Runs under mpirun -np 3: a benchmark run's agreement on a failed step
// reaches every rank with every rank's reason (a rank that never arrives:
// hang_rank.cpp).
#include <gtest/gtest.h>

#include "mpi_test_main.hpp"
#include "run_context.hpp"

using namespace dmmap;
using namespace dmmap::bench;
using namespace std::chrono_literals;

namespace {

Shared shared_with_timeout(std::chrono::milliseconds timeout) {
  Shared s;
  s.world = test_session().comm();
  s.rank = test_session().rank();
  s.size = test_session().size();
  s.settings.timeout = timeout;
  return s;
}

}  // namespace

TEST(RunContext, AFailedStepFailsEverywhereWithEveryReason) {
  const Shared shared = shared_with_timeout(10s);
  RunContext ctx(shared, shared.size, 1);
  EXPECT_NO_THROW(ctx.agree(""));
  try {
    ctx.agree(ctx.rank() == 1 ? "boom" : "");
    ADD_FAILURE() << "no RunFailed";
  } catch (const RunFailed& e) {
    EXPECT_STREQ(e.what(), "rank 1: boom");
  }
}
