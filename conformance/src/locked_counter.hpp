// The body shared by shared.locked-update (fcntl) and shared.flock-update
// (flock): every rank takes an exclusive lock on its own open file, updates a
// counter through the mapping, unlocks; the total must be exact. A filesystem
// must make the lock exclude across clients and carry the page (flush on
// unlock or revoke, fresh page after the grant). A filesystem without the
// lock (ENOSYS, EOPNOTSUPP) makes the check a SKIP.
#pragma once

#include "check.hpp"

namespace dmmap::conform {

enum class LockMode { exclusive, shared, unlock };

// One kind of application lock, named as its messages name it.
struct AppLock {
  const char* unsupported;         // "fcntl locks are" / "flock is" (not supported on ranks ...)
  const char* call;                // "fcntl(F_SETLKW)" / "flock(LOCK_EX)"
  const char* increments;          // "locked" / "flocked" (increments were lost)
  int (*apply)(int fd, LockMode);  // 0 or the errno; EINTR retried inside
};

// The check's whole body on `file_name` in the scratch directory.
void run_locked_counter(CheckContext& ctx, const AppLock& lock, const char* file_name);

}  // namespace dmmap::conform
