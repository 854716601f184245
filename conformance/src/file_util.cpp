#include "file_util.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace dmmap::conform {
namespace {

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path = {}) {
  throw std::system_error(errno, std::generic_category(), path.empty() ? what : what + " " + path.string());
}

}  // namespace

Fd open_file(const std::filesystem::path& path, int flags, mode_t mode) {
  Fd fd(::open(path.c_str(), flags | O_CLOEXEC, mode));
  if (!fd) fail("open", path);
  return fd;
}

void create_file(const std::filesystem::path& path, std::size_t size, std::uint8_t fill) {
  Fd fd = open_file(path, O_RDWR | O_CREAT | O_TRUNC);
  std::vector<std::uint8_t> data(size, fill);
  pwrite_exact(fd.get(), data.data(), data.size(), 0);
  fsync_file(fd.get());
}

std::vector<std::uint8_t> pread_exact(int fd, std::size_t size, off_t offset) {
  std::vector<std::uint8_t> data(size);
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, data.data() + done, size - done, offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("pread");
    if (n == 0) break;  // EOF: the rest stays zero, callers compare contents
    done += static_cast<std::size_t>(n);
  }
  data.resize(done);
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

std::size_t count_equal(const volatile std::byte* p, std::size_t size, std::uint8_t value) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < size; ++i) n += static_cast<std::uint8_t>(p[i]) == value;
  return n;
}

}  // namespace dmmap::conform
