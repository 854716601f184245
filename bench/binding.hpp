// --bind core|none: pinning ranks with hwloc.
#pragma once

#include <mpi.h>

#include <chrono>
#include <string>

namespace dmmap::bench {

// "core": rank i of this node is bound to core (i mod cores), so oversubscribed
// ranks share cores predictably. "none": the binding is left as it is
// (mpirun's). Returns a description of the binding done; throws on failure,
// a HangError naming the ranks that do not come within `timeout`.
std::string bind_rank(MPI_Comm world, const std::string& mode, std::chrono::milliseconds timeout);

}  // namespace dmmap::bench
