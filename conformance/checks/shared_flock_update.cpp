// shared.flock-update: shared.locked-update with the other lock applications
// use, flock(2), taken on each rank's own open file (locked_counter.hpp has
// the body).
#include <sys/file.h>

#include <cerrno>

#include "check.hpp"
#include "locked_counter.hpp"

namespace dmmap::conform {
namespace {

int flock_lock(int fd, LockMode mode) {
  const int operation = mode == LockMode::exclusive ? LOCK_EX : mode == LockMode::shared ? LOCK_SH : LOCK_UN;
  while (::flock(fd, operation) != 0)
    if (errno != EINTR) return errno;
  return 0;
}

void run(CheckContext& ctx) {
  run_locked_counter(ctx, {"flock is", "flock(LOCK_EX)", "flocked", flock_lock}, "flocked");
}

const CheckRegistration check({
    .id = "shared.flock-update",
    .summary = "flock, update through the mapping, unlock, on every rank: the exact total",
    .distinct_clients = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
