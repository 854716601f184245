// The operator's admin socket of dmfsd (docs/dmfsd.md, "Admin socket"): a
// line protocol on a Unix stream socket, served by the server's epoll loop,
// and the `dmfsd --ctl` client that speaks it. Header-only: the pieces here
// have no server state (socket file handling, line checks, the ctl client);
// the commands themselves are run by Server, which owns the clients.
#pragma once
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dmmap/probe/fd.hpp"

namespace dmfs::admin {

constexpr size_t kMaxLine = 256;            // bytes of one command line, without the newline
constexpr size_t kMaxConnections = 16;      // admin connections served at once
constexpr size_t kMaxPendingOut = 64 * 1024; // stop running a connection's commands beyond this

// Refusals at start (path taken, not a socket, ...): dmfsd exits 2 on these,
// like on other usage errors, rather than 1 (a runtime failure).
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The project's one RAII file descriptor (shared with the suite's probes).
using Fd = dmmap::Fd;

inline std::string errno_text(const std::string& what, int e) { return what + ": " + std::strerror(e); }

inline sockaddr_un unix_address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof a.sun_path)
    throw Error("admin socket path '" + path + "' is empty or longer than " +
                std::to_string(sizeof a.sun_path - 1) + " bytes");
  std::memcpy(a.sun_path, path.data(), path.size());
  return a;
}

// Whether something accepts connections on the socket file at path. A
// non-blocking connect, so that a live server with a full backlog (EAGAIN)
// counts as live instead of blocking us.
inline bool socket_is_live(const std::string& path) {
  sockaddr_un a = unix_address(path);
  Fd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw Error(errno_text("socket", errno));
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return true;
  if (errno == EAGAIN || errno == EINPROGRESS) return true;
  if (errno == ECONNREFUSED || errno == ENOENT) return false;
  throw Error(errno_text("cannot probe admin socket " + path, errno));
}

// The listening socket file at `path`, created mode 0600; a stale socket file
// (nobody listening) is replaced; a live one or a non-socket is refused. The
// file is removed on destruction if it is still the one we created (a newer
// dmfsd may have replaced it after we stopped answering).
class SocketFile {
 public:
  SocketFile() = default;
  explicit SocketFile(std::string path) : path_(std::move(path)) {
    sockaddr_un a = unix_address(path_);
    struct stat st{};
    if (lstat(path_.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode))
        throw Error("admin socket " + path_ + " exists and is not a socket: refusing to replace it");
      if (socket_is_live(path_))
        throw Error("admin socket " + path_ + " is in use (another dmfsd is listening on it): refusing");
      if (unlink(path_.c_str()) != 0 && errno != ENOENT)
        throw Error(errno_text("cannot remove stale admin socket " + path_, errno));
    } else if (errno != ENOENT) {
      throw Error(errno_text("admin socket " + path_, errno));
    }
    Fd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) throw Error(errno_text("socket", errno));
    // The mode comes from the umask at bind(); a chmod afterwards would leave
    // a window in which anyone could connect and evict clients.
    mode_t old = umask(0177);
    int rc = bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
    int e = errno;
    umask(old);
    if (rc != 0) throw Error(errno_text("cannot bind admin socket " + path_, e));
    if (lstat(path_.c_str(), &st) == 0) {
      dev_ = st.st_dev;
      ino_ = st.st_ino;
    }
    if (::listen(fd.get(), 16) != 0) {
      e = errno;
      unlink(path_.c_str());
      throw Error(errno_text("cannot listen on admin socket " + path_, e));
    }
    fd_ = std::move(fd);
  }
  SocketFile(SocketFile&&) = default;
  SocketFile& operator=(SocketFile&& o) noexcept {
    if (this != &o) {
      remove();
      fd_ = std::move(o.fd_);
      path_ = std::exchange(o.path_, {});
      dev_ = o.dev_;
      ino_ = o.ino_;
    }
    return *this;
  }
  ~SocketFile() { remove(); }
  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  // Stops listening and removes the file if it is still ours.
  void remove() {
    if (!fd_) return;
    fd_.reset();
    struct stat st{};
    if (lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) unlink(path_.c_str());
  }

 private:
  Fd fd_;
  std::string path_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

// Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
inline bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    static constexpr uint32_t min_of[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_of[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

// A command line split into words, or why it is not one.
struct Command {
  std::vector<std::string> words;
  std::string error;  // non-empty: reply "error: " + error
};

inline Command parse_line(std::string_view line) {
  Command c;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // tolerate CRLF (telnet, nc -C)
  if (!valid_utf8(line)) {
    c.error = "not a text line (invalid UTF-8)";
    return c;
  }
  for (char ch : line)
    if ((static_cast<unsigned char>(ch) < 0x20 && ch != '\t') || ch == 0x7f) {
      c.error = "not a text line (control character)";
      return c;
    }
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) c.words.emplace_back(line.substr(i, j - i));
    i = j;
  }
  if (c.words.empty()) c.error = "empty command (try help)";
  return c;
}

// A decimal client id: digits only, no sign, no overflow.
inline std::optional<uint64_t> parse_id(const std::string& s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return std::nullopt;
    uint64_t d = uint64_t(ch - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

inline const char* help_text() {
  return "evict ID    evict client ID as a revoke timeout would: EVICTED notice, connection closed,\n"
         "            its locks, application locks and opens (exec registrations) released\n"
         "clients     one line per connected client:\n"
         "            client ID peer ADDR:PORT locks N registrations M name NAME\n"
         "help        this list\n";
}

// `dmfsd --ctl PATH COMMAND [ARG...]`: sends one command line, prints the
// reply lines. Exit status: 0 if the last line starts with "ok", 1 if with
// "error:", 2 when there is no usable answer (cannot connect, no reply).
inline int run_ctl(const std::string& path, const std::vector<std::string>& args,
                   std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto fail = [](const std::string& msg) {
    std::fprintf(stderr, "dmfsd --ctl: %s\n", msg.c_str());
    return 2;
  };
  if (args.empty()) return fail("usage: dmfsd --ctl PATH COMMAND [ARG...] (try: help)");
  std::string line;
  for (auto& a : args) line += (line.empty() ? "" : " ") + a;
  if (line.size() > kMaxLine || line.find('\n') != std::string::npos)
    return fail("command line longer than " + std::to_string(kMaxLine) + " bytes or with a newline");
  sockaddr_un a;
  try {
    a = unix_address(path);
  } catch (const Error& e) {
    return fail(e.what());
  }
  Fd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd || connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    return fail(errno_text("cannot connect to admin socket " + path, errno));
  line += '\n';
  for (size_t off = 0; off < line.size();) {
    ssize_t w = ::send(fd.get(), line.data() + off, line.size() - off, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return fail(errno_text("cannot send to " + path, errno));
    off += size_t(w);
  }
  shutdown(fd.get(), SHUT_WR);  // one command: the server answers, then closes
  std::string reply;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd.get(), POLLIN, 0};
    int pr = left.count() > 0 ? poll(&p, 1, int(left.count())) : 0;
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) return fail("no complete reply from " + path + " within " + std::to_string(timeout.count()) + " ms");
    char buf[4096];
    ssize_t n = recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(errno_text("cannot read from " + path, errno));
    if (n == 0) break;
    reply.append(buf, size_t(n));
    std::fwrite(buf, 1, size_t(n), stdout);
  }
  std::fflush(stdout);
  if (reply.empty() || reply.back() != '\n') return fail("connection closed before a complete reply");
  size_t start = reply.rfind('\n', reply.size() - 2);
  std::string_view last = std::string_view(reply).substr(start == std::string::npos ? 0 : start + 1);
  if (last.starts_with("ok")) return 0;
  if (last.starts_with("error:")) return 1;
  return fail("reply does not end with an ok or error: line");
}

}  // namespace dmfs::admin
