#include "fault_mapping.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <system_error>

namespace dmmap::bench {

FaultMapping::FaultMapping(int fd, std::size_t pages, int prot, bool fault_around)
    : pages_(pages), fault_around_(fault_around) {
  const std::size_t ps = page_size();
  if (fault_around) {
    region_ = Mapping(fd, pages * ps, prot, MAP_SHARED);
    return;
  }
  region_ = Mapping(-1, pages * ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
  for (std::size_t i = 0; i < pages; ++i) {
    void* at = const_cast<unsigned char*>(page(i));
    if (::mmap(at, ps, prot, MAP_SHARED | MAP_FIXED, fd, static_cast<off_t>(i * ps)) == MAP_FAILED)
      throw std::system_error(errno, std::generic_category(), "mmap of one page");
  }
  if (::madvise(region_.data(), region_.size(), MADV_RANDOM) != 0)
    throw std::system_error(errno, std::generic_category(), "madvise(MADV_RANDOM)");
}

}  // namespace dmmap::bench
