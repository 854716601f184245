// Byte-range locks kept by the daemon for every client at once (--locks
// cluster, --flock cluster): POSIX semantics per owner (a new lock replaces
// the owner's overlapping ranges; unlocking part of a range splits it), no
// deadlock detection. The caller serialises access and does the waiting.
#pragma once

#include <fcntl.h>
#include <sys/types.h>

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace dialfs {

// A lock owner: the kernel's owner id is only unique within one mount.
struct LockOwner {
  int mount = 0;
  std::uint64_t id = 0;
  auto operator<=>(const LockOwner&) const = default;
};

struct LockRange {
  off_t start = 0;
  off_t end = 0;       // inclusive; kToEnd: to the end of the file, however long
  int type = F_UNLCK;  // F_RDLCK, F_WRLCK, or F_UNLCK to release
  LockOwner owner;
  pid_t pid = 0;  // reported by F_GETLK
  static constexpr off_t kToEnd = INT64_MAX;
};

class LockTable {
 public:
  // The first range of another owner that conflicts with `want`.
  std::optional<LockRange> conflict(std::uint64_t node, const LockRange& want) const;
  // Sets `want` (F_UNLCK: clears its range) for want.owner.
  void apply(std::uint64_t node, const LockRange& want);
  // Clears every range of `owner` on `node`; true if there was one.
  bool release(std::uint64_t node, const LockOwner& owner);
  // Clears every range of every owner of `mount` (the mount is gone).
  void release_mount(int mount);

 private:
  std::map<std::uint64_t, std::vector<LockRange>> ranges_;
};

}  // namespace dialfs
