#include "dmmap/messages.hpp"

namespace dmmap {

bool receive(MPI_Comm comm, int source, int tag, Deadline deadline, std::string& out, int* from,
             const Backoff& backoff) {
  MPI_Status status;
  int flag = 0;
  if (!poll_until([&] { return MPI_Iprobe(source, tag, comm, &flag, &status), flag != 0; }, deadline, backoff))
    return false;
  int count = 0;
  MPI_Get_count(&status, MPI_CHAR, &count);
  out.assign(static_cast<std::size_t>(count), '\0');
  MPI_Recv(out.data(), count, MPI_CHAR, status.MPI_SOURCE, tag, comm, MPI_STATUS_IGNORE);
  if (from) *from = status.MPI_SOURCE;
  return true;
}

bool send(MPI_Comm comm, int dest, int tag, const std::string& bytes, Deadline deadline) {
  MPI_Request request;
  MPI_Isend(bytes.data(), static_cast<int>(bytes.size()), MPI_CHAR, dest, tag, comm, &request);
  int done = 0;
  if (poll_until([&] { return MPI_Test(&request, &done, MPI_STATUS_IGNORE), done != 0; }, deadline)) return true;
  MPI_Cancel(&request);
  MPI_Request_free(&request);
  return false;
}

}  // namespace dmmap
