// One certification run, on every rank of the MPI job: the configuration,
// the target and its environment, the conformance catalog, the benchmarks,
// then the result directory sealed on rank 0. Returns the exit status, the
// same on every rank (docs/exit-status.md).
#pragma once

#include <string>

#include "dmmap/mpi_session.hpp"

namespace dmmap::certify {

int certify_run(MpiSession& mpi, const std::string& config_path);

}  // namespace dmmap::certify
