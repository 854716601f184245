// RAII ownership of an mmap()ed region. Its bytes are std::uint8_t, the byte
// type of the whole probe API (pread_up_to, count_equal, probe_load).
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace dmmap {

class Mapping {
 public:
  Mapping() = default;
  // Maps `length` bytes of `fd` at `offset`; throws std::system_error on failure.
  Mapping(int fd, std::size_t length, int prot, int flags, off_t offset = 0);
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  Mapping(Mapping&& other) noexcept
      : addr_(std::exchange(other.addr_, nullptr)), length_(std::exchange(other.length_, 0)) {}
  Mapping& operator=(Mapping&& other) noexcept {
    if (this != &other) {
      reset();
      addr_ = std::exchange(other.addr_, nullptr);
      length_ = std::exchange(other.length_, 0);
    }
    return *this;
  }
  ~Mapping() { reset(); }

  std::uint8_t* data() const { return static_cast<std::uint8_t*>(addr_); }
  std::size_t size() const { return length_; }
  std::span<std::uint8_t> bytes() const { return {data(), length_}; }
  explicit operator bool() const { return addr_ != nullptr; }

  // msync(MS_SYNC) of the whole mapping; throws on failure.
  void sync() const;
  // Grows the mapping to `length` bytes with mremap(MREMAP_MAYMOVE): the
  // address may change; throws std::system_error on failure (unchanged then).
  void grow(std::size_t length);
  // How many of the pages [first, first + count) of the mapping are in the
  // page cache (mincore(): touches nothing); throws on failure.
  std::size_t resident(std::size_t first, std::size_t count) const;
  void reset();

 private:
  void* addr_ = nullptr;
  std::size_t length_ = 0;
};

std::size_t page_size();

// Which pages of `map` are in this client's page cache (mincore(), one entry
// a page), touching none of them. Linux answers for the file's cache, not for
// this process's page tables; for a file the caller may not write it answers
// "resident" for every page. Throws std::system_error.
std::vector<bool> resident_pages(const Mapping& map);

}  // namespace dmmap
