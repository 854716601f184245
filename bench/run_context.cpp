#include "run_context.hpp"

#include <fmt/format.h>

#include "dmmap/sync.hpp"

namespace dmmap::bench {

namespace {

MPI_Comm split_active(MPI_Comm world, bool active, int rank) {
  MPI_Comm comm = MPI_COMM_NULL;
  MPI_Comm_split(world, active ? 0 : MPI_UNDEFINED, rank, &comm);
  return comm;
}

}  // namespace

RunContext::RunContext(const Shared& s, int ranks, unsigned run_id)
    : shared(s),
      active_ranks(ranks),
      active(s.rank < ranks),
      active_comm_(split_active(s.world, s.rank < ranks, s.rank)),
      run_id_(run_id) {}

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
  const bool failed = max_of(world(), local_error.empty() ? 0.0 : 1.0, deadline()) > 0;
  if (!failed) return;
  // Rare path: collect every rank's reason so the report names them all.
  int length = static_cast<int>(local_error.size());
  std::vector<int> lengths(static_cast<std::size_t>(shared.size));
  MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, world());
  std::vector<int> offsets(lengths.size());
  int total = 0;
  for (std::size_t r = 0; r < lengths.size(); ++r) {
    offsets[r] = total;
    total += lengths[r];
  }
  std::string all(static_cast<std::size_t>(total), '\0');
  MPI_Allgatherv(local_error.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, world());
  std::string message;
  for (std::size_t r = 0; r < lengths.size(); ++r)
    if (lengths[r] > 0)
      message += fmt::format("{}rank {}: {}", message.empty() ? "" : "; ", r,
                             all.substr(static_cast<std::size_t>(offsets[r]), static_cast<std::size_t>(lengths[r])));
  throw RunFailed(message);
}

void RunContext::active_barrier() const {
  if (active) barrier(active_comm(), deadline());
}

}  // namespace dmmap::bench
