// File I/O for conformance checks and benchmarks: every failure throws a
// std::system_error naming the operation and the path, which the callers turn
// into a FAIL (or an error row) naming the rank.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <system_error>
#include <vector>

#include "dmmap/fd.hpp"

namespace dmmap {

// open(2) with O_CLOEXEC.
Fd open_file(const std::filesystem::path& path, int flags, mode_t mode = 0644);
// Creates (or truncates) `path` holding `size` bytes of `fill`, written and fsync()ed.
Fd create_file(const std::filesystem::path& path, std::size_t size, std::uint8_t fill);
// Waits until `path` exists through this view (a networked filesystem may show
// another client's new file late); throws at the deadline.
Fd open_when_visible(const std::filesystem::path& path, int flags, int seconds = 10);

// Reads up to `size` bytes: fewer at EOF, for callers that compare contents
// (a short file is one of the things they report).
std::vector<std::uint8_t> pread_up_to(int fd, std::size_t size, off_t offset);
// Reads exactly `size` bytes; a short file throws std::system_error (EIO).
std::vector<std::uint8_t> pread_exact(int fd, std::size_t size, off_t offset);
void pwrite_exact(int fd, const void* data, std::size_t size, off_t offset);
void fsync_file(int fd);
// Makes the client drop its cached pages of the file: write back, then
// POSIX_FADV_DONTNEED. tmpfs keeps them (its pages are the file).
void drop_cached(int fd);

// How many of `size` bytes at `p` equal `value`.
std::size_t count_equal(const volatile std::uint8_t* p, std::size_t size, std::uint8_t value);

// Unlinks a file when the scope ends (a long run must not fill the filesystem).
class Unlinker {
 public:
  explicit Unlinker(std::filesystem::path path) : path_(std::move(path)) {}
  Unlinker(const Unlinker&) = delete;
  Unlinker& operator=(const Unlinker&) = delete;
  ~Unlinker() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }

 private:
  std::filesystem::path path_;
};

}  // namespace dmmap
