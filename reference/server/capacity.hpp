// dmfsd's --capacity: a limit on the bytes the backing store may hold, below
// what the backing filesystem has, so that a client can meet ENOSPC without
// filling a real disk (the conformance check shared.no-space; docs/dmfsd.md).
// Use is the allocated bytes (st_blocks) of every file under the root,
// counted afresh whenever a write would allocate: meant for tests, not for a
// store of millions of files.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "dmfs_proto.h"

namespace dmfs {

class Capacity {
 public:
  explicit Capacity(std::string root) : root_(std::move(root)) {}

  // Unset: no limit (the backing filesystem's own).
  void set(std::optional<uint64_t> bytes) { limit_ = bytes; }
  std::optional<uint64_t> limit() const { return limit_; }
  // Allocated bytes of every file under the root.
  uint64_t used() const;
  // 0, or -ENOSPC when writing [off, off + len) of `fd` would allocate more
  // than the limit leaves.
  int admit(int fd, uint64_t off, uint64_t len) const;
  // With a limit, statfs answers the limit's size and what is left of it.
  void apply(dmfs_statfs_rep& rep) const;

 private:
  std::string root_;
  std::optional<uint64_t> limit_;
};

}  // namespace dmfs
