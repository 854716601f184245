#include "guard.hpp"

#include <fmt/format.h>

#include "dmmap/exit_status.hpp"
#include "dmmap/sync.hpp"

namespace dmmap::bench {

int run_or_abort(MpiSession& session, const std::function<int()>& body) {
  try {
    return body();
  } catch (const HangError& e) {
    fmt::print(stderr, "dmmap-bench: HANG: {}\n", e.what());
    session.abort(exit_status::kHang);
  } catch (const std::exception& e) {
    fmt::print(stderr, "dmmap-bench: rank {}: {}\n", session.rank(), e.what());
    session.abort(exit_status::kFailed);
  }
}

}  // namespace dmmap::bench
