#include "run_context.hpp"

#include <fmt/format.h>

namespace dmmap::bench {

namespace {

// MPI_Comm_split has no deadline: the ranks first meet at a bounded barrier,
// where one that never comes is named, and split right after it.
MPI_Comm split_active(Collectives& world, bool active) {
  world.barrier("start of a benchmark run");
  MPI_Comm comm = MPI_COMM_NULL;
  MPI_Comm_split(world.comm(), active ? 0 : MPI_UNDEFINED, world.rank(), &comm);
  return comm;
}

}  // namespace

RunContext::RunContext(const Shared& s, int ranks, unsigned run_id)
    : shared(s),
      active_ranks(ranks),
      active(s.rank < ranks),
      world_(s.world, s.settings.timeout),
      active_comm_(split_active(world_, s.rank < ranks)),
      run_id_(run_id) {
  if (active) active_.emplace(active_comm_.get(), s.settings.timeout);
}

Deadline RunContext::deadline() const { return std::chrono::steady_clock::now() + shared.settings.timeout; }

std::filesystem::path RunContext::file(const std::string& name) const {
  return shared.scratch / fmt::format("run{}-{}", run_id_, name);
}

void RunContext::step(const std::function<void()>& work) {
  std::string error;
  if (active) {
    try {
      work();
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  agree(error);
}

void RunContext::agree(const std::string& local_error) {
  const bool failed = world_.max(local_error.empty() ? 0.0 : 1.0, "agreement on a step") > 0;
  if (!failed) return;
  // Rare path: collect every rank's reason so the report names them all.
  const auto reasons = world_.allgather(local_error, "gather of the ranks' errors");
  std::string message;
  for (std::size_t r = 0; r < reasons.size(); ++r)
    if (!reasons[r].empty()) message += fmt::format("{}rank {}: {}", message.empty() ? "" : "; ", r, reasons[r]);
  throw RunFailed(message);
}

void RunContext::active_barrier() {
  if (active) active_->barrier("barrier of the active ranks");
}

}  // namespace dmmap::bench
