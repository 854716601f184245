// MPI collectives for the measurement loop, each with a deadline.
//
// The harness's Sync coordinates through rank 0 with a polite back-off, which
// is right for phases but too slow for a per-iteration agreement. These use
// the non-blocking MPI collectives and poll them, so that a rank stuck in the
// filesystem turns into a HangError instead of a silent hang.
#pragma once

#include <mpi.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "histogram.hpp"

namespace dmmap::bench {

using Deadline = std::chrono::steady_clock::time_point;

// Waits for `request`; throws dmmap::HangError naming `what` at the deadline.
void wait_for(MPI_Request& request, Deadline deadline, const std::string& what);

void barrier(MPI_Comm comm, Deadline deadline);
double max_of(MPI_Comm comm, double value, Deadline deadline);
std::uint64_t sum_of(MPI_Comm comm, std::uint64_t value, Deadline deadline);
// Every rank's values, concatenated in rank order (same result on every rank).
std::vector<double> gathered(MPI_Comm comm, const std::vector<double>& local, Deadline deadline);
// Every rank's histogram merged (same result on every rank).
Histogram merged(MPI_Comm comm, const Histogram& local, Deadline deadline);

// A communicator owned by RAII (MPI_Comm_split results).
class Comm {
 public:
  Comm() = default;
  explicit Comm(MPI_Comm comm) : comm_(comm) {}
  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;
  ~Comm() {
    if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  }
  MPI_Comm get() const { return comm_; }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
};

}  // namespace dmmap::bench
