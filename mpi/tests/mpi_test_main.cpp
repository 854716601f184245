#include "mpi_test_main.hpp"

#include <gtest/gtest.h>

namespace dmmap {
namespace {
MpiSession* session = nullptr;
}

MpiSession& test_session() { return *session; }

}  // namespace dmmap

int main(int argc, char** argv) {
  dmmap::MpiSession mpi(&argc, &argv);
  mpi.join(std::chrono::seconds(60));
  dmmap::session = &mpi;
  ::testing::InitGoogleTest(&argc, argv);
  if (mpi.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int failed = RUN_ALL_TESTS();
  int any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return any;
}
