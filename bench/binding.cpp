#include "binding.hpp"

#include <fmt/format.h>
#include <hwloc.h>

#include <memory>
#include <stdexcept>

#include "dmmap/collective.hpp"

namespace dmmap::bench {
namespace {

struct TopologyDeleter {
  void operator()(hwloc_topology* t) const { hwloc_topology_destroy(t); }
};
using Topology = std::unique_ptr<hwloc_topology, TopologyDeleter>;

Topology load_topology() {
  hwloc_topology_t t = nullptr;
  if (hwloc_topology_init(&t) != 0) throw std::runtime_error("hwloc_topology_init failed");
  Topology topology(t);
  if (hwloc_topology_load(t) != 0) throw std::runtime_error("hwloc_topology_load failed");
  return topology;
}

// This rank's index among the ranks of its node. MPI_Comm_split_type has no
// deadline: the ranks first meet at a bounded barrier, where one that never
// comes is named, and split right after it.
int node_local_rank(MPI_Comm world, std::chrono::milliseconds timeout) {
  Collectives(world, timeout).barrier("the rank binding (MPI_Comm_split_type)");
  MPI_Comm node = MPI_COMM_NULL;
  MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int rank = 0;
  MPI_Comm_rank(node, &rank);
  MPI_Comm_free(&node);
  return rank;
}

}  // namespace

std::string bind_rank(MPI_Comm world, const std::string& mode, std::chrono::milliseconds timeout) {
  const int local = node_local_rank(world, timeout);  // collective: every rank calls it, whatever the mode
  if (mode == "none") return "none (left as started)";
  if (mode != "core") throw std::invalid_argument(fmt::format("--bind wants core or none, not '{}'", mode));
  auto topology = load_topology();
  const int cores = hwloc_get_nbobjs_by_type(topology.get(), HWLOC_OBJ_CORE);
  if (cores <= 0) throw std::runtime_error("hwloc sees no cores");
  hwloc_obj_t core = hwloc_get_obj_by_type(topology.get(), HWLOC_OBJ_CORE, static_cast<unsigned>(local % cores));
  if (hwloc_set_cpubind(topology.get(), core->cpuset, HWLOC_CPUBIND_PROCESS) != 0)
    throw std::runtime_error(fmt::format("cannot bind to core {}", core->logical_index));
  return fmt::format("core {} (node-local rank {}, {} cores)", core->logical_index, local, cores);
}

}  // namespace dmmap::bench
