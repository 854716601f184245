// Under mpirun (test bench.hang-names-rank): the last rank never reaches a
// run's agreement. The others must end the job as dmmap-bench does, with
// status 4 and a message naming the rank that did not arrive.
#include <unistd.h>

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
  return run_or_abort(session, [&] {
    RunContext ctx(shared, shared.size, 0);
    if (ctx.rank() == shared.size - 1) ::pause();  // ended by the others' MPI_Abort
    ctx.agree("");
    return 0;
  });
}
