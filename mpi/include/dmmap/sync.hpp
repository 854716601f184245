// Collective synchronisation with timeouts and named culprits.
//
// Every sync point is coordinated by rank 0: each rank sends ARRIVE (with a
// payload) and waits for RELEASE (carrying every rank's payload). Rank 0 thus
// knows *which* ranks did not arrive when a timeout expires, and the job ends
// with a HANG naming them instead of hanging silently.
//
// A rank that leaves a phase early (a fatal failure in a check) calls
// finish_phase(); the others' pending sync points then return `aborted`, so
// one rank's failure ends the check everywhere instead of deadlocking it.
#pragma once

#include <mpi.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace dmmap {

// Thrown when a sync point times out. `missing` are the ranks that never
// arrived (seen by rank 0), or {0} when rank 0 itself stopped answering.
struct HangError : std::runtime_error {
  HangError(std::string what, std::vector<int> missing_ranks)
      : std::runtime_error(std::move(what)), missing(std::move(missing_ranks)) {}
  std::vector<int> missing;
};

// Thrown by a sync point when another rank finished the phase early.
struct PhaseAborted : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Thrown on every rank at the same sync point once the phase has run past
// its time limit (set_time_limit): rank 0 decides, so all ranks agree.
struct PhaseTimeLimit : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Sync {
 public:
  Sync(MPI_Comm comm, std::chrono::milliseconds timeout);

  int rank() const { return rank_; }
  int size() const { return size_; }
  std::chrono::milliseconds timeout() const { return timeout_; }
  void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }

  // Starts a new phase (a check, a benchmark); `name` appears in HANG reports.
  void begin_phase(std::string name);
  // The phase's sync points throw PhaseTimeLimit once `limit` has passed
  // since now; zero: no limit. Holds until the next begin_phase.
  void set_time_limit(std::chrono::milliseconds limit);
  const std::string& phase() const { return phase_; }

  // A sync point inside the phase. Throws PhaseAborted or HangError.
  void barrier();
  std::vector<std::string> allgather(const std::string& payload);
  std::string broadcast(const std::string& payload_on_root);

  // The closing sync point of a phase: every rank must reach it, including
  // ranks whose phase failed early. Returns every rank's payload on rank 0;
  // elsewhere rank 0's payload and empty strings (a gather, not an
  // allgather: no rank but 0 receives O(ranks) bytes). A rank
  // that arrives early on purpose (an observer of a check run by others)
  // waits `patience` longer than the timeout before calling rank 0 hung.
  std::vector<std::string> finish_phase(const std::string& payload,
                                        std::chrono::milliseconds patience = std::chrono::milliseconds(0));

 private:
  enum Kind : char { kBody = 'B', kEnd = 'E' };
  // How rank 0 releases the others: normally, or ending the phase early.
  enum Release : int { kNormal = 0, kAborted = 1, kOutOfTime = 2 };
  std::vector<std::string> exchange(Kind kind, const std::string& payload,
                                    std::chrono::milliseconds patience = std::chrono::milliseconds(0));
  std::vector<std::string> exchange_as_root(Kind kind, const std::string& payload);
  std::vector<std::string> exchange_as_member(Kind kind, const std::string& payload,
                                              std::chrono::milliseconds patience);
  [[noreturn]] void throw_out_of_time() const;
  void remember_end(int rank, const std::string& payload);
  bool is_at_end(int rank) const;

  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
  std::chrono::milliseconds timeout_;
  std::string phase_;
  unsigned long phase_id_ = 0;
  std::chrono::steady_clock::time_point phase_start_{};
  std::chrono::milliseconds time_limit_{0};
  // Root only: ranks already waiting at the end of the current phase, with their payloads.
  std::vector<int> at_end_;
  std::vector<std::string> end_payload_;
};

}  // namespace dmmap
