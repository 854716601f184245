// The main() of the GoogleTest programs that run under mpirun: MPI is up for
// the whole run, only rank 0 prints, and the exit status is non-zero when a
// test failed on any rank.
#pragma once

#include "dmmap/mpi_session.hpp"

namespace dmmap {

// The program's MPI session.
MpiSession& test_session();

}  // namespace dmmap
