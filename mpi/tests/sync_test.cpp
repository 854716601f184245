// Runs under mpirun -np 3: the timed, abort-aware sync points of the harness.
#include <gtest/gtest.h>
#include <unistd.h>

#include "dmmap/sync.hpp"
#include "mpi_test_main.hpp"

using namespace dmmap;
using namespace std::chrono_literals;

TEST(Sync, AllgatherReturnsEveryPayloadInRankOrder) {
  Sync sync(test_session().comm(), 10s);
  sync.begin_phase("allgather");
  auto all = sync.allgather(std::to_string(sync.rank() * 10));
  ASSERT_EQ(static_cast<int>(all.size()), sync.size());
  for (int r = 0; r < sync.size(); ++r) EXPECT_EQ(all[static_cast<std::size_t>(r)], std::to_string(r * 10));
  EXPECT_EQ(sync.broadcast(sync.rank() == 0 ? "from root" : "ignored"), "from root");
  auto end = sync.finish_phase(std::string(sync.rank() + 1, 'x'));
  ASSERT_EQ(static_cast<int>(end.size()), sync.size());
  EXPECT_EQ(end.front(), "x");
  // The end gathers to rank 0 only.
  EXPECT_EQ(end.back().size(), sync.rank() == 0 ? static_cast<std::size_t>(sync.size()) : 0u);
}

TEST(Sync, OneRankLeavingEarlyAbortsTheOthersInsteadOfHanging) {
  for (int leaver = 0; leaver < test_session().size(); ++leaver) {
    Sync sync(test_session().comm(), 10s);
    sync.begin_phase("early exit");
    bool aborted = false;
    if (sync.rank() != leaver) {
      try {
        sync.barrier();
        sync.barrier();
      } catch (const PhaseAborted&) {
        aborted = true;
      }
      EXPECT_TRUE(aborted) << "leaver " << leaver;
    }
    auto payloads = sync.finish_phase(sync.rank() == leaver ? "left" : "stayed");
    if (sync.rank() == 0) {
      EXPECT_EQ(payloads.at(static_cast<std::size_t>(leaver)), "left");
    }
    // The next phase works normally.
    sync.begin_phase("after");
    sync.barrier();
    sync.finish_phase({});
  }
}

TEST(Sync, SilentRankIsNamedInAHang) {
  Sync sync(test_session().comm(), 1s);
  sync.begin_phase("hang detection");
  const int silent = sync.size() - 1;
  if (sync.rank() == silent) {
    ::sleep(2);  // misses rank 0's deadline
    try {
      sync.barrier();
    } catch (const std::exception&) {
    }
  } else {
    try {
      sync.barrier();
      ADD_FAILURE() << "no hang reported";
    } catch (const HangError& e) {
      if (sync.rank() == 0) {  // the root names the silent rank
        ASSERT_EQ(e.missing.size(), 1u);
        EXPECT_EQ(e.missing[0], silent);
        EXPECT_NE(std::string(e.what()).find("hang detection"), std::string::npos);
      } else {  // the others, left waiting by the root, name the root
        EXPECT_EQ(e.missing, std::vector<int>{0});
      }
    }
  }
  // Leave the harness communicator quiet for MPI_Finalize: drain with a plain barrier.
  MPI_Barrier(MPI_COMM_WORLD);
}

// A phase that keeps synchronising forever ends at its time limit, at the
// same sync point on every rank; the next phase has no limit.
TEST(Sync, APhasePastItsTimeLimitEndsOnEveryRankAlike) {
  Sync sync(test_session().comm(), 10s);
  sync.begin_phase("endless");
  sync.set_time_limit(300ms);
  int rounds = 0;
  bool ended = false;
  try {
    for (;; ++rounds) sync.barrier();
  } catch (const PhaseTimeLimit& e) {
    ended = true;
    EXPECT_NE(std::string(e.what()).find("'endless' ran past its time limit of 0.3 s"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(ended);
  auto counts = sync.finish_phase(std::to_string(rounds));
  if (sync.rank() == 0) {
    for (auto& c : counts) EXPECT_EQ(c, std::to_string(rounds)) << "ranks ended at different sync points";
  }
  sync.begin_phase("after");
  ::usleep(400000);
  EXPECT_NO_THROW(sync.barrier());
  sync.finish_phase({});
}
