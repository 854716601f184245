// File helpers for check bodies: every failure throws with the path and errno,
// which the framework turns into a FAIL naming the rank.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "dmmap/probe/fd.hpp"

namespace dmmap::conform {

Fd open_file(const std::filesystem::path& path, int flags, mode_t mode = 0644);
// Creates (or truncates) `path` holding `size` bytes of `fill`, fsync'ed.
void create_file(const std::filesystem::path& path, std::size_t size, std::uint8_t fill);
std::vector<std::uint8_t> pread_exact(int fd, std::size_t size, off_t offset);
void pwrite_exact(int fd, const void* data, std::size_t size, off_t offset);
void fsync_file(int fd);
// How many of `size` bytes at `p` equal `value`.
std::size_t count_equal(const volatile std::byte* p, std::size_t size, std::uint8_t value);

}  // namespace dmmap::conform
