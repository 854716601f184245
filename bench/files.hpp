// Files of a measurement's working set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

#include "dmmap/probe/fd.hpp"

namespace dmmap::bench {

// open(2) that throws std::system_error naming the path.
Fd open_file(const std::filesystem::path& path, int flags, unsigned mode = 0644);
// Creates (or truncates) `path` with `bytes` bytes of `fill`, written and fsync()ed.
Fd create_file(const std::filesystem::path& path, std::size_t bytes, std::uint8_t fill);
// Waits until `path` exists through this view (a network filesystem may show
// another client's new file late); throws at the deadline of `seconds`.
Fd open_when_visible(const std::filesystem::path& path, int flags, int seconds = 10);
// Makes the client drop its cached pages of the file: write back, then
// POSIX_FADV_DONTNEED. tmpfs keeps them (its pages are the file), which the
// major-fault counter then shows.
void drop_cached(int fd);

// Unlinks the file when the scope ends (the scratch area is removed at the
// end too, but a long run must not fill the filesystem).
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

}  // namespace dmmap::bench
