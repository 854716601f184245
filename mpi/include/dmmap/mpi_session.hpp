// RAII for MPI_Init/MPI_Finalize, the harness's private communicator, and
// communicators split from it.
#pragma once

#include <mpi.h>

#include <chrono>
#include <string>

namespace dmmap {

class MpiSession {
 public:
  // MPI_Init: rank() and size() are known; comm() once join() returned.
  MpiSession(int* argc, char*** argv);
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  ~MpiSession();

  // Every rank meets here and the harness's communicator is made. A rank
  // that does not come within `timeout` is named in a HangError. Once.
  void join(std::chrono::milliseconds timeout);

  // A duplicate of MPI_COMM_WORLD: harness traffic never matches user
  // messages. Throws std::logic_error before join().
  MPI_Comm comm() const;
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }

  // Ends every rank of the job with `code` (a hang, a fatal harness error).
  [[noreturn]] void abort(int code) const;

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
};

std::string mpi_library_version();

// A communicator owned by RAII (what MPI_Comm_split returns); MPI_COMM_NULL
// for a rank the split left out.
class OwnedComm {
 public:
  OwnedComm() = default;
  explicit OwnedComm(MPI_Comm comm) : comm_(comm) {}
  OwnedComm(const OwnedComm&) = delete;
  OwnedComm& operator=(const OwnedComm&) = delete;
  ~OwnedComm() {
    if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  }
  MPI_Comm get() const { return comm_; }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
};

}  // namespace dmmap
