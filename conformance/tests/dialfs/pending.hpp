// What one client has written to one file and not yet published to the shared
// store: byte ranges laid over the store's bytes. Only the client that wrote
// them sees them (read-your-writes) until they are published.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>

namespace dialfs {

class Pending {
 public:
  bool empty() const { return extents_.empty(); }
  // One past the last pending byte (0 when empty).
  off_t end() const;
  // Records `size` bytes at `offset`; a later write wins where ranges overlap.
  void write(off_t offset, const char* data, std::size_t size);
  // Forgets pending bytes in [offset, offset + size) (superseded by a write
  // that went straight to the store).
  void erase(off_t offset, std::size_t size);
  // Forgets pending bytes at and beyond `size` (the file was truncated).
  void truncate(off_t size);
  // Lays the pending bytes of [offset, offset + size) over `buffer`, which
  // holds the store's bytes of that range.
  void overlay(off_t offset, char* buffer, std::size_t size) const;
  // Writes every pending byte to `fd` at its offset and forgets them; throws
  // std::system_error on a failed write (nothing is forgotten then).
  void publish_to(int fd);
  // When the client's last pending write happened (for its own stat()).
  const struct timespec& written_at() const { return written_at_; }

 private:
  std::map<off_t, std::string> extents_;  // start -> bytes; disjoint, not adjacent
  struct timespec written_at_ {};
};

}  // namespace dialfs
