// Point-to-point messages of the harness (Sync's arrivals and releases, the
// collectives' roll call): byte strings sent and received with a deadline,
// polled through the harness's one waiter.
#pragma once

#include <mpi.h>

#include <string>

#include "dmmap/waiter.hpp"

namespace dmmap {

// Receives one message from `source` (or MPI_ANY_SOURCE) with `tag`; false at the deadline.
bool receive(MPI_Comm comm, int source, int tag, Deadline deadline, std::string& out, int* from = nullptr,
             const Backoff& backoff = kPoliteBackoff);

// Sends without blocking past the deadline (a peer that never receives must
// not hang us); false, the send cancelled, at the deadline.
bool send(MPI_Comm comm, int dest, int tag, const std::string& bytes, Deadline deadline);

}  // namespace dmmap
