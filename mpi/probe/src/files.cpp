#include "dmmap/probe/files.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

namespace dmmap {
namespace {

[[noreturn]] void fail(const char* what, const std::filesystem::path& path = {}) {
  throw std::system_error(errno, std::generic_category(),
                          path.empty() ? what : fmt::format("{} {}", what, path.string()));
}

}  // namespace

Fd open_file(const std::filesystem::path& path, int flags, mode_t mode) {
  Fd fd(::open(path.c_str(), flags | O_CLOEXEC, mode));
  if (!fd) fail("open", path);
  return fd;
}

Fd create_file(const std::filesystem::path& path, std::size_t size, std::uint8_t fill) {
  Fd fd = open_file(path, O_RDWR | O_CREAT | O_TRUNC);
  const std::vector<std::uint8_t> chunk(std::min<std::size_t>(size, 1u << 20), fill);
  for (std::size_t done = 0; done < size;) {
    const std::size_t n = std::min(chunk.size(), size - done);
    pwrite_exact(fd.get(), chunk.data(), n, static_cast<off_t>(done));
    done += n;
  }
  fsync_file(fd.get());
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

std::vector<std::uint8_t> pread_up_to(int fd, std::size_t size, off_t offset) {
  std::vector<std::uint8_t> data(size);
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, data.data() + done, size - done, offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("pread");
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  data.resize(done);
  return data;
}

std::vector<std::uint8_t> pread_exact(int fd, std::size_t size, off_t offset) {
  auto data = pread_up_to(fd, size, offset);
  if (data.size() != size)
    throw std::system_error(EIO, std::generic_category(),
                            fmt::format("pread: {} of {} bytes at offset {} (end of file)", data.size(), size, offset));
  return data;
}

void pwrite_exact(int fd, const void* data, std::size_t size, off_t offset) {
  auto* bytes = static_cast<const std::uint8_t*>(data);
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::pwrite(fd, bytes + done, size - done, offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("pwrite");
    done += static_cast<std::size_t>(n);
  }
}

void fsync_file(int fd) {
  if (::fsync(fd) != 0) fail("fsync");
}

void drop_cached(int fd) {
  if (::fdatasync(fd) != 0) fail("fdatasync before dropping the cache");
  if (int err = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED); err != 0)
    throw std::system_error(err, std::generic_category(), "posix_fadvise(DONTNEED)");
}

std::size_t count_equal(const volatile std::uint8_t* p, std::size_t size, std::uint8_t value) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < size; ++i) n += p[i] == value;
  return n;
}

}  // namespace dmmap
