// Runs under mpirun -np 3: the harness's collectives, each wait bounded, a
// rank that does not arrive named by the roll call.
#include <gtest/gtest.h>
#include <unistd.h>

#include "dmmap/collective.hpp"
#include "dmmap/sync.hpp"
#include "mpi_test_main.hpp"

using namespace dmmap;
using namespace std::chrono_literals;

namespace {

// A communicator of its own per test: an abandoned collective or roll call
// of one test cannot match another's.
MPI_Comm fresh_comm() {
  MPI_Comm comm = MPI_COMM_NULL;
  MPI_Comm_dup(test_session().comm(), &comm);
  return comm;
}

// Waits for HangError from `call`; the ranks it names (or {-1} if none came).
template <typename F>
std::vector<int> hang_of(F call) {
  try {
    call();
  } catch (const HangError& e) {
    return e.missing;
  }
  return {-1};
}

}  // namespace

TEST(Collectives, GatherAndReduceInRankOrder) {
  OwnedComm comm(fresh_comm());
  Collectives c(comm.get(), 10s);
  const int me = c.rank();
  auto words = c.allgather(std::string(static_cast<std::size_t>(me), 'x'));
  ASSERT_EQ(static_cast<int>(words.size()), c.size());
  for (int r = 0; r < c.size(); ++r) EXPECT_EQ(words[static_cast<std::size_t>(r)], std::string(r, 'x'));
  auto values = c.allgather(std::vector<double>(static_cast<std::size_t>(me), me));
  EXPECT_EQ(values.size(), static_cast<std::size_t>(0 + 1 + 2));
  EXPECT_EQ(c.max(me), c.size() - 1);
  EXPECT_EQ(c.sum(1), static_cast<std::uint64_t>(c.size()));
  c.barrier();
}

TEST(Collectives, ARankThatNeverArrivesIsNamedEverywhere) {
  OwnedComm comm(fresh_comm());
  Collectives c(comm.get(), 500ms);
  const int silent = c.size() - 1;
  if (c.rank() == silent) {
    ::usleep(2500000);  // past everyone's deadline and rank 0's roll call
    c.max(1.0);         // completes: the others had posted their parts
  } else {
    EXPECT_EQ(hang_of([&] { c.max(1.0, "the test's reduction"); }), std::vector<int>{silent});
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

TEST(Collectives, ASilentRootIsNamedByTheOthers) {
  OwnedComm comm(fresh_comm());
  Collectives c(comm.get(), 300ms);
  if (c.rank() == 0) {
    ::usleep(300000 * 2 + 5500000);  // past the others' wait for its verdict
    c.barrier();
  } else {
    EXPECT_EQ(hang_of([&] { c.barrier(); }), std::vector<int>{0});
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

TEST(Collectives, APeerThatNeverSendsIsNamed) {
  OwnedComm comm(fresh_comm());
  Collectives c(comm.get(), 300ms);
  char byte = 0;
  if (c.rank() == 1) {
    MPI_Request request;
    MPI_Irecv(&byte, 1, MPI_CHAR, 0, 5, c.comm(), &request);
    EXPECT_EQ(hang_of([&] { c.wait_peer(request, 0, "token"); }), std::vector<int>{0});
    MPI_Cancel(&request);
    MPI_Request_free(&request);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}
