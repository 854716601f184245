// A shared file mapping laid out so that faults can be counted per page.
//
// With fault-around on, it is one ordinary mapping: the kernel maps up to 16
// cached neighbours on each fault. With it off, every page gets its own VMA
// (fault-around never crosses a VMA), placed in reverse order so the kernel
// cannot merge neighbours back into one VMA; MADV_RANDOM is set as well to
// stop readahead. MADV_RANDOM alone does not disable fault-around on current
// kernels (measured: 1/16 fault per page on tmpfs with 6.x).
#pragma once

#include <cstddef>
#include <cstdint>

#include "dmmap/probe/mapping.hpp"

namespace dmmap::bench {

class FaultMapping {
 public:
  FaultMapping(int fd, std::size_t pages, int prot, bool fault_around);
  // The address of file page i.
  volatile std::uint8_t* page(std::size_t i) const {
    return region_.data() + (fault_around_ ? i : pages_ - 1 - i) * page_size();
  }

 private:
  std::size_t pages_;
  bool fault_around_;
  Mapping region_;  // the whole range; unmapping it unmaps every per-page VMA inside
};

}  // namespace dmmap::bench
