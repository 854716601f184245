#include "admin.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

namespace dmfs::admin {

namespace {

std::string errno_text(const std::string& what, int e) { return what + ": " + std::strerror(e); }

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof a.sun_path)
    throw Error("admin socket path '" + path + "' is empty or longer than " + std::to_string(sizeof a.sun_path - 1) +
                " bytes");
  std::memcpy(a.sun_path, path.data(), path.size());
  return a;
}

// Whether something accepts connections on the socket file at path. A
// non-blocking connect, so that a live server with a full backlog (EAGAIN)
// counts as live instead of blocking us.
bool socket_is_live(const std::string& path) {
  sockaddr_un a = unix_address(path);
  Fd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw Error(errno_text("socket", errno));
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return true;
  if (errno == EAGAIN || errno == EINPROGRESS) return true;
  if (errno == ECONNREFUSED || errno == ENOENT) return false;
  throw Error(errno_text("cannot probe admin socket " + path, errno));
}

// Makes room for a new socket file at path: nothing there, or a stale socket
// that is removed; refuses a live socket and anything that is not a socket.
void clear_stale(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      throw Error("admin socket " + path + " exists and is not a socket: refusing to replace it");
    if (socket_is_live(path))
      throw Error("admin socket " + path + " is in use (another dmfsd is listening on it): refusing");
    if (unlink(path.c_str()) != 0 && errno != ENOENT)
      throw Error(errno_text("cannot remove stale admin socket " + path, errno));
  } else if (errno != ENOENT) {
    throw Error(errno_text("admin socket " + path, errno));
  }
}

}  // namespace

SocketFile::SocketFile(std::string path) : path_(std::move(path)) {
  sockaddr_un a = unix_address(path_);
  clear_stale(path_);
  Fd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw Error(errno_text("socket", errno));
  // The mode comes from the umask at bind(); a chmod afterwards would leave
  // a window in which anyone could connect and evict clients.
  mode_t old = umask(0177);
  int rc = bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  int e = errno;
  umask(old);
  if (rc != 0) throw Error(errno_text("cannot bind admin socket " + path_, e));
  struct stat st {};
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

SocketFile& SocketFile::operator=(SocketFile&& o) noexcept {
  if (this != &o) {
    remove();
    fd_ = std::move(o.fd_);
    path_ = std::exchange(o.path_, {});
    dev_ = o.dev_;
    ino_ = o.ino_;
  }
  return *this;
}

void SocketFile::remove() {
  if (!fd_) return;
  fd_.reset();
  struct stat st {};
  if (lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) unlink(path_.c_str());
}

bool valid_utf8(std::string_view s) {
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

Command parse_line(std::string_view line) {
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

std::optional<uint64_t> parse_id(const std::string& s) {
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

const char* help_text() {
  return "evict ID    evict client ID as a revoke timeout would: EVICTED notice, connection closed,\n"
         "            its locks, application locks and opens (exec registrations) released\n"
         "clients     one line per connected client:\n"
         "            client ID peer ADDR:PORT locks N registrations M name NAME\n"
         "capacity [BYTES|+BYTES|none]\n"
         "            show or set the bytes the store may hold (--capacity): +BYTES is what is\n"
         "            used now plus BYTES, none no limit; writes beyond it fail with ENOSPC\n"
         "help        this list\n";
}

namespace {

int ctl_fail(const std::string& msg) {
  std::fprintf(stderr, "dmfsd --ctl: %s\n", msg.c_str());
  return 2;
}

// Connects to the admin socket, sends `line` and half-closes; an invalid fd
// after printing why on failure.
Fd ctl_send(const std::string& path, std::string line) {
  sockaddr_un a;
  try {
    a = unix_address(path);
  } catch (const Error& e) {
    ctl_fail(e.what());
    return Fd();
  }
  Fd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd || connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ctl_fail(errno_text("cannot connect to admin socket " + path, errno));
    return Fd();
  }
  line += '\n';
  for (size_t off = 0; off < line.size();) {
    ssize_t w = ::send(fd.get(), line.data() + off, line.size() - off, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      ctl_fail(errno_text("cannot send to " + path, errno));
      return Fd();
    }
    off += size_t(w);
  }
  shutdown(fd.get(), SHUT_WR);  // one command: the server answers, then closes
  return fd;
}

// Reads the reply until the server closes, echoing it to stdout; an empty
// optional after printing why when there is no complete one in time.
std::optional<std::string> ctl_receive(const Fd& fd, const std::string& path, std::chrono::milliseconds timeout) {
  std::string reply;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd.get(), POLLIN, 0};
    int pr = left.count() > 0 ? poll(&p, 1, int(left.count())) : 0;
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) {
      ctl_fail("no complete reply from " + path + " within " + std::to_string(timeout.count()) + " ms");
      return std::nullopt;
    }
    char buf[4096];
    ssize_t n = recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ctl_fail(errno_text("cannot read from " + path, errno));
      return std::nullopt;
    }
    if (n == 0) return reply;
    reply.append(buf, size_t(n));
    std::fwrite(buf, 1, size_t(n), stdout);
  }
}

}  // namespace

int run_ctl(const std::string& path, const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  if (args.empty()) return ctl_fail("usage: dmfsd --ctl PATH COMMAND [ARG...] (try: help)");
  std::string line;
  for (auto& a : args) line += (line.empty() ? "" : " ") + a;
  if (line.size() > kMaxLine || line.find('\n') != std::string::npos)
    return ctl_fail("command line longer than " + std::to_string(kMaxLine) + " bytes or with a newline");
  Fd fd = ctl_send(path, line);
  if (!fd) return 2;
  auto reply = ctl_receive(fd, path, timeout);
  std::fflush(stdout);
  if (!reply) return 2;
  if (reply->empty() || reply->back() != '\n') return ctl_fail("connection closed before a complete reply");
  size_t start = reply->rfind('\n', reply->size() - 2);
  std::string_view last = std::string_view(*reply).substr(start == std::string::npos ? 0 : start + 1);
  if (last.starts_with("ok")) return 0;
  if (last.starts_with("error:")) return 1;
  return ctl_fail("reply does not end with an ok or error: line");
}

}  // namespace dmfs::admin
