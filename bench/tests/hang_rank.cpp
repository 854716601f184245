// Under mpirun (tests bench.hang-names-rank*): the last rank never reaches a
// run's agreement, or (argument "start") never starts the run at all. The
// others must end the job as dmmap-bench does, with status 4 and a message
// naming the rank that did not arrive.
#include <unistd.h>

#include <string>

#include "guard.hpp"
#include "run_context.hpp"

using namespace dmmap;
using namespace dmmap::bench;

int main(int argc, char** argv) {
  MpiSession session(&argc, &argv);
  Shared shared;
  shared.world = session.comm();
  shared.rank = session.rank();
  shared.size = session.size();
  shared.settings.timeout = std::chrono::seconds(1);
  const bool at_start = argc > 1 && std::string(argv[1]) == "start";
  const bool silent = shared.rank == shared.size - 1;
  return run_or_abort(session, [&] {
    if (silent && at_start) ::pause();  // ended by the others' MPI_Abort
    RunContext ctx(shared, shared.size, 0);
    if (silent) ::pause();
    ctx.agree("");
    return 0;
  });
}
