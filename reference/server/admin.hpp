// The operator's admin socket of dmfsd (docs/dmfsd.md, "Admin socket"): a
// line protocol on a Unix stream socket, served by the server's epoll loop,
// and the `dmfsd --ctl` client that speaks it. The pieces here have no server
// state (socket file handling, line checks, the ctl client); the commands
// themselves are run by Server (server_admin.cpp), which owns the clients.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "dmmap/fd.hpp"

namespace dmfs::admin {

constexpr size_t kMaxLine = 256;              // bytes of one command line, without the newline
constexpr size_t kMaxConnections = 16;        // admin connections served at once
constexpr size_t kMaxPendingOut = 64 * 1024;  // stop running a connection's commands beyond this

// Refusals at start (path taken, not a socket, ...): dmfsd exits 2 on these,
// like on other usage errors, rather than 1 (a runtime failure).
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The project's one RAII file descriptor (shared with the suite's probes).
using Fd = dmmap::Fd;

// The listening socket file at `path`, created mode 0600; a stale socket file
// (nobody listening) is replaced; a live one or a non-socket is refused. The
// file is removed on destruction if it is still the one we created (a newer
// dmfsd may have replaced it after we stopped answering).
class SocketFile {
 public:
  SocketFile() = default;
  explicit SocketFile(std::string path);
  SocketFile(SocketFile&&) = default;
  SocketFile& operator=(SocketFile&& o) noexcept;
  ~SocketFile() { remove(); }
  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  // Stops listening and removes the file if it is still ours.
  void remove();

 private:
  Fd fd_;
  std::string path_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

// Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool valid_utf8(std::string_view s);

// A command line split into words, or why it is not one.
struct Command {
  std::vector<std::string> words;
  std::string error;  // non-empty: reply "error: " + error
};

Command parse_line(std::string_view line);

// A decimal client id: digits only, no sign, no overflow.
std::optional<uint64_t> parse_id(const std::string& s);

const char* help_text();

// `dmfsd --ctl PATH COMMAND [ARG...]`: sends one command line, prints the
// reply lines. Exit status: 0 if the last line starts with "ok", 1 if with
// "error:", 2 when there is no usable answer (cannot connect, no reply).
int run_ctl(const std::string& path, const std::vector<std::string>& args,
            std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace dmfs::admin
