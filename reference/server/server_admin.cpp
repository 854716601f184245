// The admin socket served by the server's loop (docs/dmfsd.md, "Admin
// socket"): connections, their lines, and the commands, which need the
// server's clients. Line parsing and the socket file are in admin.cpp.
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "log.hpp"
#include "server.hpp"

namespace dmfs {

void Server::admin_accept() {
  for (;;) {
    admin::Fd fd(accept4(admin_.fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) {
      if (errno != EAGAIN && errno != EINTR) log::warn("admin accept: {}", strerror(errno));
      return;
    }
    if (admin_conns_.size() >= admin::kMaxConnections) {
      // Best effort: the operator learns why; never waits for a slow reader.
      static constexpr char msg[] = "error: too many admin connections\n";
      ssize_t w = ::send(fd.get(), msg, sizeof msg - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      (void)w;
      log::warn("admin socket: refusing a connection: {} open already", admin_conns_.size());
      continue;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kAdminTag | uint64_t(fd.get());
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd.get(), &ev) != 0) {
      log::warn("admin socket: epoll_ctl: {}", strerror(errno));
      continue;
    }
    auto c = std::make_unique<AdminConn>();
    int key = fd.get();
    c->fd = std::move(fd);
    admin_conns_[key] = std::move(c);
    log::debug("admin connection opened");
  }
}

// One recv per wake-up (a fast sender cannot hold the loop), then run the
// complete lines while the replies are not piling up, and send.
void Server::admin_event(int fd, uint32_t events) {
  auto it = admin_conns_.find(fd);
  if (it == admin_conns_.end()) return;
  AdminConn& c = *it->second;
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c.eof && c.out.size() < admin::kMaxPendingOut) {
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n > 0)
      c.in.append(buf, size_t(n));
    else if (n == 0)
      c.eof = true;
    else if (errno != EAGAIN && errno != EINTR)
      c.dead = true;
  }
  // Send first: lines held back while the replies piled up run as soon as
  // they drain (no EPOLLIN would come for lines already received).
  admin_flush(c);
  while (!c.dead) {
    size_t in_before = c.in.size();
    bool closing_before = c.closing;
    admin_run_lines(c);
    if (c.in.size() == in_before && c.closing == closing_before) break;
    admin_flush(c);
  }
  if (c.dead || (c.closing && c.out.empty())) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    admin_conns_.erase(it);
    log::debug("admin connection closed");
    return;
  }
  const bool want_in = !c.eof && !c.closing && c.out.size() < admin::kMaxPendingOut;
  epoll_event ev{};
  ev.events = (want_in ? uint32_t(EPOLLIN) : 0u) | (c.out.empty() ? 0u : uint32_t(EPOLLOUT));
  ev.data.u64 = kAdminTag | uint64_t(fd);
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
}

void Server::admin_run_lines(AdminConn& c) {
  auto too_long = [&] {
    c.out += fmt::format("error: line longer than {} bytes: closing\n", admin::kMaxLine);
    c.in.clear();
    c.closing = true;
  };
  while (!c.closing && c.out.size() < admin::kMaxPendingOut) {
    size_t nl = c.in.find('\n');
    if (nl == std::string::npos) {
      if (c.in.size() > admin::kMaxLine) {
        too_long();
      } else if (c.eof) {
        if (!c.in.empty()) c.out += admin_command(c.in);  // a last line without newline
        c.in.clear();
        c.closing = true;
      }
      return;
    }
    if (nl > admin::kMaxLine) {
      too_long();
      return;
    }
    std::string line = c.in.substr(0, nl);
    c.in.erase(0, nl + 1);
    c.out += admin_command(line);
  }
}

void Server::admin_flush(AdminConn& c) {
  while (!c.out.empty()) {
    ssize_t w = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) c.dead = true;  // the operator went away: nobody to answer
      return;
    }
    c.out.erase(0, size_t(w));
  }
}

namespace {
const char* const kCapacityUsage = "error: usage: capacity [BYTES|+BYTES|none]\n";
}  // namespace

std::string Server::admin_command(std::string_view line) {
  admin::Command cmd = admin::parse_line(line);
  if (!cmd.error.empty()) return "error: " + cmd.error + "\n";
  const auto& w = cmd.words;
  if (w[0] == "help") return w.size() == 1 ? std::string(admin::help_text()) + "ok\n" : "error: usage: help\n";
  if (w[0] == "clients") return w.size() == 1 ? admin_clients() : "error: usage: clients\n";
  if (w[0] == "evict") return w.size() == 2 ? admin_evict(w[1]) : "error: usage: evict ID\n";
  if (w[0] == "capacity") return w.size() <= 2 ? admin_capacity(w.size() == 2 ? w[1] : "") : kCapacityUsage;
  return "error: unknown command '" + w[0] + "' (try help)\n";
}

std::string Server::admin_clients() {
  std::vector<Session*> live;
  for (auto& [id, s] : clients_)
    if (!s->doomed) live.push_back(s);
  std::sort(live.begin(), live.end(), [](Session* a, Session* b) { return a->id < b->id; });
  std::string out;
  for (Session* s : live) {
    std::erase_if(s->lock_handles, [&](uint64_t h) { return !locks_.is_granted(h); });
    out += fmt::format("client {} peer {} locks {} registrations {} name {}\n", s->id, s->peer, s->lock_handles.size(),
                       s->opens.size(), s->name);
  }
  out += fmt::format("ok {} clients\n", live.size());
  return out;
}

// `capacity`: show; `capacity BYTES`: the limit; `capacity +BYTES`: what is
// used now plus BYTES (a test's "fill"); `capacity none`: no limit.
std::string Server::admin_capacity(const std::string& arg) {
  Capacity& cap = store_->capacity();
  const uint64_t used = cap.used();
  if (arg == "none") {
    cap.set(std::nullopt);
  } else if (!arg.empty()) {
    const bool plus = arg[0] == '+';
    auto bytes = admin::parse_id(plus ? arg.substr(1) : arg);
    if (!bytes) return kCapacityUsage;
    cap.set(plus ? used + *bytes : *bytes);
  }
  const auto limit = cap.limit();
  return fmt::format("ok capacity {} used {}\n", limit ? std::to_string(*limit) : "none", used);
}

std::string Server::admin_evict(const std::string& arg) {
  auto id = admin::parse_id(arg);
  if (!id) return "error: usage: evict ID (a decimal client id, see clients)\n";
  Session* s = by_client(*id);
  if (!s || s->doomed) return fmt::format("error: no client {}\n", *id);
  // Not subject to --fault no-evict: that switch disables the automatic
  // revoke-timeout eviction, not the operator.
  evict(*id, EvictCause::operator_request);
  return fmt::format("ok evicted {}\n", *id);
}

}  // namespace dmfs
