// shared.locked-update: the classic way applications share a mapped file
// across nodes: take an fcntl() write lock, update through the mapping,
// unlock, on every rank, concurrently; the total must be exact. The lock must
// carry the page, as the seed HLD's lock-on-fault design does
// (locked_counter.hpp has the body).
#include <fcntl.h>

#include <cerrno>

#include "check.hpp"
#include "locked_counter.hpp"

namespace dmmap::conform {
namespace {

int fcntl_lock(int fd, LockMode mode) {
  struct flock lock {};
  lock.l_type = mode == LockMode::exclusive ? F_WRLCK : mode == LockMode::shared ? F_RDLCK : F_UNLCK;
  lock.l_whence = SEEK_SET;
  lock.l_len = 8;
  while (::fcntl(fd, F_SETLKW, &lock) != 0)
    if (errno != EINTR) return errno;
  return 0;
}

void run(CheckContext& ctx) {
  run_locked_counter(ctx, {"fcntl locks are", "fcntl(F_SETLKW)", "locked", fcntl_lock}, "locked");
}

const CheckRegistration check({
    .id = "shared.locked-update",
    .summary = "fcntl-lock, update through the mapping, unlock, on every rank: the exact total",
    .distinct_clients = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
