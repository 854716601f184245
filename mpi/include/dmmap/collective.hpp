// Collectives for measurement loops, next to Sync: each wait has a deadline,
// and a rank that does not arrive ends the run with a HangError naming it.
//
// Sync coordinates through rank 0 with a polite back-off, right for phases
// but too slow for a per-iteration agreement. These use MPI's non-blocking
// collectives and poll them eagerly through the harness's one waiter. MPI
// cannot say who is missing from a collective, so at the deadline the ranks
// that are there hold a roll call through rank 0 (point-to-point, only on
// this rare path) and name the ones that never answered it.
#pragma once

#include <mpi.h>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dmmap/waiter.hpp"

namespace dmmap {

class Collectives {
 public:
  // Every wait on `comm` is bounded by `timeout` from its start.
  Collectives(MPI_Comm comm, std::chrono::milliseconds timeout);

  MPI_Comm comm() const { return comm_; }
  int rank() const { return rank_; }
  int size() const { return size_; }

  void barrier(const std::string& what = "barrier");
  double max(double value, const std::string& what = "max reduction");
  std::uint64_t sum(std::uint64_t value, const std::string& what = "sum reduction");
  // Every rank's values, concatenated in rank order (the same on every rank).
  std::vector<double> allgather(const std::vector<double>& local, const std::string& what = "gather");
  // Every rank's string, in rank order.
  std::vector<std::string> allgather(const std::string& local, const std::string& what = "gather");

  // Waits for requests of a collective on comm() the caller started (several
  // reductions at once, say); a hang holds the roll call.
  void wait(std::span<MPI_Request> requests, const std::string& what);
  // Waits for a point-to-point request with `peer` on comm(): a hang names the peer.
  void wait_peer(MPI_Request& request, int peer, const std::string& what);

 private:
  template <typename T>
  std::vector<T> allgatherv(const T* data, int count, MPI_Datatype type, const std::string& what,
                            std::vector<int>& counts);
  [[noreturn]] void roll_call(const std::string& what);

  MPI_Comm comm_;
  std::chrono::milliseconds timeout_;
  int rank_ = 0;
  int size_ = 1;
  unsigned long calls_ = 0;  // numbers the collectives, so a roll call is about one of them
};

}  // namespace dmmap
