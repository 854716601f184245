// A token between the two ranks of a hand-off measurement (revocation, stat
// of a remote writer): an empty message, waited for with the run's
// deadline, so a rank that stops answering is named instead of hanging.
#pragma once

#include <mpi.h>

#include <string>

#include "run_context.hpp"

namespace dmmap::bench {

inline void pass_token(RunContext& ctx, int peer, int tag, bool send, const std::string& what) {
  MPI_Request request;
  char byte = 0;
  if (send) {
    MPI_Isend(&byte, 1, MPI_CHAR, peer, tag, ctx.active_comm(), &request);
  } else {
    MPI_Irecv(&byte, 1, MPI_CHAR, peer, tag, ctx.active_comm(), &request);
  }
  ctx.actives().wait_peer(request, peer, what + (send ? " token send" : " token receive"));
}

}  // namespace dmmap::bench
