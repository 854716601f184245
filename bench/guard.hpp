// How a dmmap-bench rank ends when a measurement throws: a hang (a rank that
// did not arrive, named) ends the whole job with status 4, anything else with
// status 1 (docs/exit-status.md); the message names the rank.
#pragma once

#include <functional>

#include "dmmap/mpi_session.hpp"

namespace dmmap::bench {

// Runs `body` and returns its status, or ends the job as above.
int run_or_abort(MpiSession& session, const std::function<int()>& body);

}  // namespace dmmap::bench
