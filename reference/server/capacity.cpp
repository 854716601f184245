#include "capacity.hpp"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace dmfs {

namespace {
uint64_t g_sum;  // nftw has no user argument

int add_blocks(const char*, const struct stat* st, int type, struct FTW*) {
  if (type == FTW_F) g_sum += uint64_t(st->st_blocks) * 512;
  return 0;
}

// Bytes of [off, end) of `fd` not allocated yet: the holes and what lies past EOF.
uint64_t unallocated(int fd, uint64_t off, uint64_t end) {
  uint64_t missing = 0;
  while (off < end) {
    off_t data = lseek(fd, off_t(off), SEEK_DATA);
    if (data < 0) return missing + (end - off);  // ENXIO: nothing allocated from off on
    if (uint64_t(data) > off) missing += std::min<uint64_t>(uint64_t(data), end) - off;
    off_t hole = lseek(fd, data, SEEK_HOLE);
    if (hole < 0) return missing;
    off = uint64_t(hole);
  }
  return missing;
}
}  // namespace

uint64_t Capacity::used() const {
  g_sum = 0;
  nftw(root_.c_str(), add_blocks, 16, FTW_PHYS | FTW_MOUNT);
  return g_sum;
}

int Capacity::admit(int fd, uint64_t off, uint64_t len) const {
  if (!limit_ || len == 0) return 0;
  const uint64_t need = unallocated(fd, off, off + len);
  if (need == 0) return 0;
  return used() + need > *limit_ ? -ENOSPC : 0;
}

void Capacity::apply(dmfs_statfs_rep& rep) const {
  if (!limit_ || rep.bsize == 0) return;
  const uint64_t used_blocks = (used() + rep.bsize - 1) / rep.bsize, blocks = *limit_ / rep.bsize;
  rep.blocks = blocks;
  rep.bfree = rep.bavail = blocks > used_blocks ? blocks - used_blocks : 0;
}

}  // namespace dmfs
