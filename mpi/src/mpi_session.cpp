#include "dmmap/mpi_session.hpp"

#include <cstdio>
#include <stdexcept>

#include "dmmap/collective.hpp"

namespace dmmap {

MpiSession::MpiSession(int* argc, char*** argv) {
  MPI_Init(argc, argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

// MPI_Comm_dup has no deadline; its non-blocking form waits in the harness's
// collectives, whose roll call (on MPI_COMM_WORLD here) names the absent.
void MpiSession::join(std::chrono::milliseconds timeout) {
  if (comm_ != MPI_COMM_NULL) throw std::logic_error("MpiSession::join() called twice");
  MPI_Comm dup = MPI_COMM_NULL;
  MPI_Request request;
  MPI_Comm_idup(MPI_COMM_WORLD, &dup, &request);
  Collectives(MPI_COMM_WORLD, timeout).wait({&request, 1}, "the start of the job (MPI_Comm_idup)");
  comm_ = dup;
  // Harness errors are handled by the harness: report, then abort on purpose.
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
}

MPI_Comm MpiSession::comm() const {
  if (comm_ == MPI_COMM_NULL) throw std::logic_error("MpiSession::comm() before join()");
  return comm_;
}

MpiSession::~MpiSession() {
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  MPI_Finalize();
}

void MpiSession::abort(int code) const {
  std::fflush(stdout);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // MPI_Abort does not return; keep the compiler sure of it
}

std::string mpi_library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  MPI_Get_library_version(text, &length);
  std::string version(text, static_cast<std::size_t>(length));
  // Open MPI appends a newline-separated build description; the first line is enough.
  if (auto nl = version.find('\n'); nl != std::string::npos) version.resize(nl);
  while (!version.empty() && (version.back() == '\0' || version.back() == ' ')) version.pop_back();
  return version;
}

}  // namespace dmmap
