// Under mpirun (tests bench.hang-names-rank*): the last rank stops for good
// at one place of dmmap-bench's start or run, named by the argument: "join"
// (the harness's communicator), "bind" (the rank binding), "start" (a run's
// start) or, by default, "agree" (a run's agreement). The others must end
// the job as dmmap-bench does, with status 4 and a message naming the rank
// that did not arrive.
#include <unistd.h>

#include <string>

#include "binding.hpp"
#include "guard.hpp"
#include "run_context.hpp"

using namespace dmmap;
using namespace dmmap::bench;

int main(int argc, char** argv) {
  MpiSession session(&argc, &argv);
  const std::string place = argc > 1 ? argv[1] : "agree";
  const bool silent = session.rank() == session.size() - 1;
  const auto stop_at = [&](const std::string& here) {
    if (silent && place == here) ::pause();  // ended by the others' MPI_Abort
  };
  const std::chrono::milliseconds timeout = std::chrono::seconds(1);
  return run_or_abort(session, [&] {
    stop_at("join");
    session.join(timeout);
    stop_at("bind");
    bind_rank(session.comm(), "none", timeout);
    Shared shared;
    shared.world = session.comm();
    shared.rank = session.rank();
    shared.size = session.size();
    shared.settings.timeout = timeout;
    stop_at("start");
    RunContext ctx(shared, shared.size, 0);
    stop_at("agree");
    ctx.agree("");
    return 0;
  });
}
