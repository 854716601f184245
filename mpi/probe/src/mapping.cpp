#include "dmmap/probe/mapping.hpp"

#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <vector>

namespace dmmap {

Mapping::Mapping(int fd, std::size_t length, int prot, int flags, off_t offset) : length_(length) {
  void* addr = ::mmap(nullptr, length, prot, flags, fd, offset);
  if (addr == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap");
  addr_ = addr;
}

void Mapping::sync() const {
  if (addr_ && ::msync(addr_, length_, MS_SYNC) != 0) throw std::system_error(errno, std::generic_category(), "msync");
}

void Mapping::grow(std::size_t length) {
  void* addr = ::mremap(addr_, length_, length, MREMAP_MAYMOVE);
  if (addr == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mremap");
  addr_ = addr;
  length_ = length;
}

std::size_t Mapping::resident(std::size_t first, std::size_t count) const {
  std::vector<unsigned char> in_core(count);
  if (::mincore(data() + first * page_size(), count * page_size(), in_core.data()) != 0)
    throw std::system_error(errno, std::generic_category(), "mincore");
  std::size_t n = 0;
  for (unsigned char c : in_core) n += c & 1;
  return n;
}

void Mapping::reset() {
  if (addr_) ::munmap(addr_, length_);
  addr_ = nullptr;
  length_ = 0;
}

std::size_t page_size() {
  static const std::size_t size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

std::vector<bool> resident_pages(const Mapping& map) {
  const std::size_t pages = (map.size() + page_size() - 1) / page_size();
  std::vector<unsigned char> vec(pages);
  if (::mincore(map.data(), map.size(), vec.data()) != 0)
    throw std::system_error(errno, std::generic_category(), "mincore");
  std::vector<bool> resident(pages);
  for (std::size_t i = 0; i < pages; ++i) resident[i] = (vec[i] & 1) != 0;
  return resident;
}

}  // namespace dmmap
