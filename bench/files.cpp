#include "files.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <thread>
#include <vector>

namespace dmmap::bench {
namespace {

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path) {
  throw std::system_error(errno, std::generic_category(), fmt::format("{} {}", what, path.string()));
}

}  // namespace

Fd open_file(const std::filesystem::path& path, int flags, unsigned mode) {
  Fd fd(::open(path.c_str(), flags | O_CLOEXEC, mode));
  if (!fd) fail("open", path);
  return fd;
}

Fd create_file(const std::filesystem::path& path, std::size_t bytes, std::uint8_t fill) {
  Fd fd = open_file(path, O_RDWR | O_CREAT | O_TRUNC);
  const std::vector<unsigned char> chunk(1u << 20, fill);
  for (std::size_t done = 0; done < bytes;) {
    const std::size_t n = std::min(chunk.size(), bytes - done);
    const ssize_t written = ::pwrite(fd.get(), chunk.data(), n, static_cast<off_t>(done));
    if (written <= 0) fail("write", path);
    done += static_cast<std::size_t>(written);
  }
  if (::fsync(fd.get()) != 0) fail("fsync", path);
  return fd;
}

Fd open_when_visible(const std::filesystem::path& path, int flags, int seconds) {
  for (int attempt = 0;; ++attempt) {
    Fd fd(::open(path.c_str(), flags | O_CLOEXEC));
    if (fd) return fd;
    if (errno != ENOENT || attempt >= seconds * 20) fail("open", path);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void drop_cached(int fd) {
  if (::fdatasync(fd) != 0)
    throw std::system_error(errno, std::generic_category(), "fdatasync before dropping the cache");
  if (int err = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED); err != 0)
    throw std::system_error(err, std::generic_category(), "posix_fadvise(DONTNEED)");
}

}  // namespace dmmap::bench
