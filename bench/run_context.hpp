// One run of one benchmark: which ranks take part, where their files go, and
// collective steps that fail on every rank when one rank fails.
#pragma once

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

#include "dmmap/collective.hpp"
#include "dmmap/mpi_session.hpp"
#include "settings.hpp"

namespace dmmap::bench {

// A step failed on some rank; thrown on every rank with every rank's reason.
struct RunFailed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class RunContext {
 public:
  // Collective over shared.world: ranks [0, active_ranks) work, the rest
  // only take part in the agreement on time and the reductions.
  RunContext(const Shared& shared, int active_ranks, unsigned run_id);

  const Shared& shared;
  const int active_ranks;
  const bool active;
  int rank() const { return shared.rank; }
  int peer(int offset) const { return (shared.rank + offset) % active_ranks; }
  // Collectives over every rank of the job, each wait bounded by --timeout.
  Collectives& world() { return world_; }
  // The active ranks: their communicator (for point-to-point messages) and
  // its waits. Only on active ranks.
  MPI_Comm active_comm() const { return active_comm_.get(); }
  Collectives& actives() { return active_.value(); }
  // --timeout from now: for waits that are not on another rank (a child).
  Deadline deadline() const;

  // A file of this run in the scratch directory, as seen through this rank's view.
  std::filesystem::path file(const std::string& name) const;

  // Runs `work` on the active ranks, then agrees over all ranks whether it
  // worked; throws RunFailed everywhere when it did not on some rank.
  void step(const std::function<void()>& work);
  // The same agreement for an error already caught ("" = fine).
  void agree(const std::string& local_error);
  void active_barrier();

 private:
  Collectives world_;  // before active_comm_: the split waits at its barrier first
  OwnedComm active_comm_;
  std::optional<Collectives> active_;
  unsigned run_id_;
};

}  // namespace dmmap::bench
