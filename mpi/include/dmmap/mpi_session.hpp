// RAII for MPI_Init/MPI_Finalize and the harness's private communicator.
#pragma once

#include <mpi.h>

#include <string>

namespace dmmap {

class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  ~MpiSession();

  // A duplicate of MPI_COMM_WORLD: harness traffic never matches user messages.
  MPI_Comm comm() const { return comm_; }
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

}  // namespace dmmap
