#include "server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "log.hpp"

namespace dmfs {

using namespace wire;

namespace {
constexpr size_t kInChunk = 64 * 1024;
constexpr size_t kOutHigh = 8u << 20;  // stop reading a client whose replies pile up
constexpr size_t kOutLow = 2u << 20;
constexpr size_t kMaxOpensPerSession = 65536;
constexpr uint64_t kListenKey = ~uint64_t(0);
constexpr uint64_t kStopKey = ~uint64_t(0) - 1;
constexpr uint64_t kAdminListenKey = ~uint64_t(0) - 2;
// Epoll keys of admin connections: the fd with this bit (client sessions use
// the bare fd, and fds never reach it).
constexpr uint64_t kAdminTag = uint64_t(1) << 40;

void random_bytes(void* p, size_t n) {
  auto* b = static_cast<uint8_t*>(p);
  while (n) {
    ssize_t r = getrandom(b, n, 0);
    if (r <= 0) {
      if (r < 0 && errno == EINTR) continue;
      // Fallback: not security relevant beyond the nonce.
      for (size_t i = 0; i < n; ++i) b[i] = uint8_t(rand());
      return;
    }
    b += r;
    n -= size_t(r);
  }
}

std::string printable(const uint8_t* p, size_t n) {
  std::string s;
  for (size_t i = 0; i < n && p[i]; ++i) s += (p[i] >= 32 && p[i] < 127) ? char(p[i]) : '?';
  return s;
}
}  // namespace

const std::vector<FaultInfo>& fault_table() {
  static const std::vector<FaultInfo> t = {
      {"no-revoke", "grant conflicting locks at once without revoking the holders", &Faults::no_revoke},
      {"grant-before-cancel", "send revokes but grant the waiter without waiting for the cancels",
       &Faults::grant_before_cancel},
      {"no-writeback", "revoke without write-back: DMFS_RVF_DISCARD set, and WRITEs from a holder under revoke are acknowledged but dropped",
       &Faults::no_writeback},
      {"no-etxtbsy", "do not enforce cluster-wide deny-write (exec opens vs write opens/truncates)",
       &Faults::no_etxtbsy},
      {"no-dv-bump", "never change a file's data version", &Faults::no_dv_bump},
      {"no-evict", "never evict a client that ignores a revoke (waiters wait forever)", &Faults::no_evict},
      {"stale-grant-attr", "grants after a revoke carry the size/data version from before the write-back",
       &Faults::stale_grant_attr},
      {"no-plock", "application locks (fcntl/flock via PLOCK) never conflict: every lock is granted at once",
       &Faults::no_plock},
  };
  return t;
}

static lk::Config lock_config(const ServerOptions& o) {
  lk::Config c;
  c.revoke_timeout = o.revoke_timeout;
  c.contention_window = o.contention_window;
  c.fault_no_revoke = o.faults.no_revoke;
  c.fault_grant_before_cancel = o.faults.grant_before_cancel;
  c.fault_no_evict = o.faults.no_evict;
  return c;
}

static lk::PConfig plock_config(const ServerOptions& o) {
  lk::PConfig c;
  c.fault_ignore_conflicts = o.faults.no_plock;
  return c;
}

Server::Server(ServerOptions opt)
    : opt_(std::move(opt)), locks_(lock_config(opt_)), plocks_(plock_config(opt_)) {
  umask(0);
  // The admin socket first: a refused PATH (another dmfsd serving it) must
  // leave the backing store untouched (no epoch bump, no clean marker taken).
  if (!opt_.admin_path.empty()) admin_ = admin::SocketFile(opt_.admin_path);
  store_ = std::make_unique<BackingStore>(opt_.root, opt_.faults.no_dv_bump);
  if (opt_.secret) key_ = derive_auth_key(*opt_.secret);
  random_bytes(&boot_id_, sizeof boot_id_);
  io_buf_.resize(DMFS_MAX_IO);
  for (auto& f : fault_table())
    if (opt_.faults.*(f.flag)) log::warn("FAULT INJECTION ACTIVE: {} ({})", f.name, f.what);
}

Server::~Server() {
  for (auto& [fd, s] : sessions_) close(fd);
  if (listen_fd_ >= 0) close(listen_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (stop_fd_ >= 0) close(stop_fd_);
}

void Server::listen() {
  addrinfo hints{}, *res = nullptr;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
  std::string port = std::to_string(opt_.port);
  int rc = getaddrinfo(opt_.listen_addr.c_str(), port.c_str(), &hints, &res);
  if (rc) throw std::runtime_error("cannot resolve " + opt_.listen_addr + ": " + gai_strerror(rc));
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    freeaddrinfo(res);
    throw std::runtime_error(std::string("socket: ") + strerror(errno));
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || ::listen(fd, 128) < 0) {
    int e = errno;
    freeaddrinfo(res);
    close(fd);
    throw std::runtime_error("cannot listen on " + opt_.listen_addr + ":" + port + ": " + strerror(e));
  }
  freeaddrinfo(res);
  sockaddr_storage ss{};
  socklen_t sl = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &sl);
  port_ = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                         : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  listen_fd_ = fd;
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  stop_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenKey;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
  ev.data.u64 = kStopKey;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, stop_fd_, &ev);
  // Before the port file: whoever waits for it may use the admin socket too.
  if (admin_.fd() >= 0) {
    ev.data.u64 = kAdminListenKey;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, admin_.fd(), &ev);
    log::info("admin socket {} (mode 0600)", opt_.admin_path);
  }
  if (!opt_.port_file.empty()) {
    std::string tmp = opt_.port_file + ".tmp";
    FILE* f = fopen(tmp.c_str(), "w");
    if (!f) throw std::runtime_error("cannot write " + tmp);
    fprintf(f, "%u\n", unsigned(port_));
    fclose(f);
    rename(tmp.c_str(), opt_.port_file.c_str());
  }
  log::info("listening on {}:{} (protocol {}, revoke timeout {} ms{})", opt_.listen_addr, port_,
            DMFS_PROTO_VERSION, opt_.revoke_timeout.count(), key_ ? ", shared secret required" : "");
}

void Server::stop() {
  uint64_t one = 1;
  ssize_t r = write(stop_fd_, &one, sizeof one);
  (void)r;
}

int Server::run() {
  if (listen_fd_ < 0) listen();
  bool stopping = false;
  epoll_event evs[64];
  while (!stopping) {
    int timeout = 1000;
    if (auto d = locks_.next_deadline()) {
      auto ms = std::chrono::ceil<std::chrono::milliseconds>(*d - lk::Clock::now()).count();
      timeout = int(std::clamp<long long>(ms, 0, 1000));
    }
    int n = epoll_wait(epoll_fd_, evs, 64, timeout);
    if (n < 0 && errno != EINTR) {
      log::error("epoll_wait: {}", strerror(errno));
      break;
    }
    for (int i = 0; i < n; ++i) {
      uint64_t key = evs[i].data.u64;
      if (key == kListenKey) {
        accept_all();
        continue;
      }
      if (key == kStopKey) {
        stopping = true;
        continue;
      }
      if (key == kAdminListenKey) {
        admin_accept();
        continue;
      }
      if (key & kAdminTag) {
        admin_event(int(key & ~kAdminTag), evs[i].events);
        continue;
      }
      auto it = sessions_.find(int(key));
      if (it == sessions_.end()) continue;
      Session& s = *it->second;
      if (evs[i].events & EPOLLOUT) on_writable(s);
      if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(s);
    }
    check_evictions();
    check_handshakes();
    reap();
  }
  log::info("shutting down: {} client(s) connected", clients_.size());
  admin_conns_.clear();  // closing an fd also takes it out of the epoll set
  admin_.remove();
  for (auto& [fd, sp] : sessions_) {
    Session& s = *sp;
    if (s.state == State::ready && !s.doomed) {
      dmfs_evicted_cb cb{};
      cb.client_id = s.id;
      cb.reason = DMFS_EVICT_SHUTDOWN;
      send(s, make_message(DMFS_OP_EVICTED, DMFS_HF_CALLBACK, s.next_cb++, 0, {bytes_of(cb)}));
    }
    doom(s, "server shutdown");
  }
  reap();
  store_->shutdown();
  log::info("dmfsd stopped");
  return 0;
}

void Server::accept_all() {
  for (;;) {
    sockaddr_storage ss{};
    socklen_t sl = sizeof ss;
    int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EINTR) log::warn("accept: {}", strerror(errno));
      return;
    }
    char host[NI_MAXHOST] = "?", serv[NI_MAXSERV] = "?";
    getnameinfo(reinterpret_cast<sockaddr*>(&ss), sl, host, sizeof host, serv, sizeof serv,
                NI_NUMERICHOST | NI_NUMERICSERV);
    if (sessions_.size() >= opt_.max_clients) {
      log::warn("refusing connection from {}:{}: {} clients already", host, serv, sessions_.size());
      close(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto s = std::make_unique<Session>();
    s->fd = fd;
    // [v6]:port, so that the port is unambiguous (admin `clients`, logs).
    s->peer = std::strchr(host, ':') ? fmt::format("[{}]:{}", host, serv) : fmt::format("{}:{}", host, serv);
    s->in.resize(kInChunk);
    s->accepted = lk::Clock::now();
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = uint64_t(fd);
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    log::debug("connection from {}", s->peer);
    sessions_[fd] = std::move(s);
  }
}

void Server::update_events(Session& s) {
  if (s.fd < 0) return;
  bool want_in = s.reading && !s.doomed && s.state != State::closing;
  bool want_out = !s.out.empty();
  epoll_event ev{};
  ev.events = (want_in ? uint32_t(EPOLLIN) : 0u) | (want_out ? uint32_t(EPOLLOUT) : 0u);
  ev.data.u64 = uint64_t(s.fd);
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, s.fd, &ev);
}

void Server::on_readable(Session& s) {
  if (s.doomed || !s.reading) return;
  // Make room for the message being assembled (bounded by DMFS_MAX_MSG).
  size_t need = kInChunk;
  if (s.in_len >= kHdrSize) {
    dmfs_hdr h;
    std::memcpy(&h, s.in.data(), kHdrSize);
    if (check_header(h) == 0) need = std::max<size_t>(need, h.length);
  }
  if (s.in.size() < need) s.in.resize(need);
  ssize_t n = recv(s.fd, s.in.data() + s.in_len, s.in.size() - s.in_len, 0);
  if (n == 0) {
    doom(s, s.in_len ? "connection closed mid-message" : "connection closed by client");
    return;
  }
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    doom(s, strerror(errno));
    return;
  }
  s.in_len += size_t(n);
  process_input(s);
}

void Server::process_input(Session& s) {
  size_t off = 0;
  while (!s.doomed && s.reading && s.state != State::closing && s.in_len - off >= kHdrSize) {
    dmfs_hdr h;
    std::memcpy(&h, s.in.data() + off, kHdrSize);
    if (int rc = check_header(h)) {
      log::warn("client {} ({}): bad frame (length {}, flags {:#x}): closing", s.id, s.peer,
                h.length, h.flags);
      reply(s, h, rc == -EMSGSIZE ? -EMSGSIZE : -EPROTO);
      doom(s, "framing violation");
      break;
    }
    if (s.in_len - off < h.length) break;
    handle(s, h, Bytes(s.in.data() + off + kHdrSize, h.length - kHdrSize));
    off += h.length;
  }
  if (off) {
    std::memmove(s.in.data(), s.in.data() + off, s.in_len - off);
    s.in_len -= off;
  }
  if (s.in.size() > kInChunk && s.in_len <= kInChunk) {
    s.in.resize(kInChunk);
    s.in.shrink_to_fit();
  }
}

void Server::on_writable(Session& s) {
  flush(s);
  if (!s.reading && s.out_bytes < kOutLow && !s.doomed) {
    s.reading = true;
    update_events(s);
    process_input(s);  // requests that arrived while we were not reading
  }
}

void Server::flush(Session& s) {
  if (s.fd < 0) return;
  bool had = !s.out.empty();
  while (!s.out.empty()) {
    iovec iov[32];
    int cnt = 0;
    size_t off = s.out_off;
    for (auto it = s.out.begin(); it != s.out.end() && cnt < 32; ++it, ++cnt) {
      iov[cnt].iov_base = it->data() + off;
      iov[cnt].iov_len = it->size() - off;
      off = 0;
    }
    msghdr mh{};
    mh.msg_iov = iov;
    mh.msg_iovlen = size_t(cnt);
    ssize_t w = sendmsg(s.fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      s.out.clear();
      s.out_bytes = 0;
      s.out_off = 0;
      if (!s.doomed) doom(s, strerror(errno));
      return;
    }
    size_t left = size_t(w);
    s.out_bytes -= left;
    while (left) {
      size_t avail = s.out.front().size() - s.out_off;
      if (left >= avail) {
        left -= avail;
        s.out.pop_front();
        s.out_off = 0;
      } else {
        s.out_off += left;
        left = 0;
      }
    }
  }
  if (had != !s.out.empty() || s.out.empty() != !s.want_out) {
    s.want_out = !s.out.empty();
    if (!s.doomed) update_events(s);
  }
}

void Server::send(Session& s, std::vector<uint8_t> msg) {
  if (s.fd < 0) return;
  s.out_bytes += msg.size();
  s.out.push_back(std::move(msg));
  flush(s);
  if (s.out_bytes > kOutHigh && s.reading && !s.doomed) {
    s.reading = false;  // back-pressure: stop taking requests until replies drain
    update_events(s);
  }
}

void Server::reply(Session& s, const dmfs_hdr& h, int32_t status, std::initializer_list<Bytes> parts) {
  if (status != 0)
    log::trace("client {}: {} id {} -> {} ({})", s.id, op_name(h.opcode), h.req_id, status, strerror(-status));
  else
    log::trace("client {}: {} id {} -> 0", s.id, op_name(h.opcode), h.req_id);
  if (status != 0 && h.opcode != DMFS_OP_HELLO)
    send(s, make_message(h.opcode, DMFS_HF_REPLY, h.req_id, status));
  else
    send(s, make_message(h.opcode, DMFS_HF_REPLY, h.req_id, status, parts));
}

void Server::doom(Session& s, const char* why) {
  if (s.doomed) return;
  s.doomed = true;
  if (s.id)
    log::info("client {} ({}, {}) disconnected: {}", s.id, s.name, s.peer, why);
  else
    log::debug("connection {} closed: {}", s.peer, why);
  release_session_state(s);
}

void Server::release_session_state(Session& s) {
  if (s.released) return;
  s.released = true;
  if (!s.id) return;
  clients_.erase(s.id);
  for (auto& [h, o] : s.opens) {
    auto& c = open_counts_[o.file];
    if (o.flags & DMFS_OPEN_EXEC) --c.exec;
    if (o.flags & (DMFS_OPEN_WRITE | DMFS_OPEN_TRUNC)) --c.write;
    if (!c.exec && !c.write) open_counts_.erase(o.file);
    store_->unpin(o.file);
  }
  s.opens.clear();
  s.lock_handles.clear();
  s.pending_enqueues.clear();
  s.pending_plocks.clear();
  s.callbacks.clear();
  lk::Actions a;
  locks_.drop_client(s.id, lk::Clock::now(), a);
  apply(a);
  std::vector<lk::PGrant> g;
  plocks_.drop_client(s.id, g);
  apply_plock(g);
}

void Server::apply_plock(std::vector<lk::PGrant>& g) {
  for (auto& x : g) {
    Session* c = by_client(x.client);
    if (!c) continue;
    c->pending_plocks.erase(x.token);
    log::debug("application lock of client {} (request {}) set after waiting", x.client, x.token);
    send(*c, make_message(DMFS_OP_PLOCK, DMFS_HF_REPLY, x.token, 0));
  }
  g.clear();
}

void Server::reap() {
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    Session& s = *it->second;
    if (s.state == State::closing && s.out.empty() && !s.doomed) doom(s, "said goodbye");
    if (!s.doomed) {
      ++it;
      continue;
    }
    flush(s);  // best effort: a final error reply or EVICTED notice
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, s.fd, nullptr);
    close(s.fd);
    s.fd = -1;
    it = sessions_.erase(it);
  }
}

Server::Session* Server::by_client(uint64_t client) {
  auto it = clients_.find(client);
  return it == clients_.end() ? nullptr : it->second;
}

uint32_t Server::attr_flags(uint64_t file) const {
  auto it = open_counts_.find(file);
  if (it == open_counts_.end()) return 0;
  return (it->second.exec ? DMFS_AF_EXEC_BUSY : 0) | (it->second.write ? DMFS_AF_WRITE_OPEN : 0);
}

int Server::get_attr(uint64_t file, dmfs_attr& a) {
  int rc = store_->getattr(file, a);
  if (rc == 0) a.flags = attr_flags(file);
  return rc;
}

void Server::apply(lk::Actions& a) {
  // Grants first: a revoke in this batch may target a lock granted in it.
  for (auto& g : a.grants) {
    Session* c = by_client(g.client);
    if (!c) continue;
    c->pending_enqueues.erase(g.token);
    c->lock_handles.insert(g.handle);
    dmfs_lock_enqueue_rep rep{};
    rep.lock_handle = g.handle;
    rep.start = g.start;
    rep.end = g.end;
    rep.mode = uint32_t(g.mode);
    rep.flags = g.expanded ? DMFS_LGF_EXPANDED : 0;
    auto st = stale_attr_.find(g.file);
    if (opt_.faults.stale_grant_attr && st != stale_attr_.end()) {
      rep.attr = st->second;
      stale_attr_.erase(st);
    } else if (get_attr(g.file, rep.attr) != 0) {
      rep.attr = dmfs_attr{};
      rep.attr.file_id = g.file;
    }
    log::debug("grant {} [{:#x},{:#x}) of file {} to client {} (lock {:#x}{}), size {} dv {:#x}",
               lk::mode_name(g.mode), g.start, g.end, g.file, g.client, g.handle,
               g.expanded ? ", expanded" : "", rep.attr.size, rep.attr.data_version);
    send(*c, make_message(DMFS_OP_LOCK_ENQUEUE, DMFS_HF_REPLY, g.token, 0, {bytes_of(rep)}));
  }
  for (auto& r : a.revokes) {
    Session* c = by_client(r.client);
    if (!c) continue;
    dmfs_revoke_cb cb{};
    cb.lock_handle = r.handle;
    cb.file_id = r.file;
    cb.start = r.start;
    cb.end = r.end;
    cb.conflict_start = r.conflict_start;
    cb.conflict_end = r.conflict_end;
    cb.mode = uint32_t(r.mode);
    cb.conflict_mode = uint32_t(r.conflict_mode);
    cb.flags = opt_.faults.no_writeback ? DMFS_RVF_DISCARD : 0;
    uint64_t id = c->next_cb++;
    c->callbacks[id] = r.handle;
    log::debug("revoke {} [{:#x},{:#x}) of file {} from client {} (lock {:#x}) for {} [{:#x},{:#x})",
               lk::mode_name(r.mode), r.start, r.end, r.file, r.client, r.handle,
               lk::mode_name(r.conflict_mode), r.conflict_start, r.conflict_end);
    send(*c, make_message(DMFS_OP_REVOKE, DMFS_HF_CALLBACK, id, 0, {bytes_of(cb)}));
  }
  a.clear();
}

void Server::check_evictions() {
  auto now = lk::Clock::now();
  for (uint64_t c : locks_.expired(now)) evict(c, EvictCause::revoke_timeout);
}

// Connections that never complete the handshake do not keep a slot.
void Server::check_handshakes() {
  auto now = lk::Clock::now();
  if (now - last_sweep_ < std::chrono::milliseconds(250)) return;
  last_sweep_ = now;
  for (auto& [fd, sp] : sessions_) {
    Session& s = *sp;
    if (!s.doomed && (s.state == State::hello || s.state == State::auth) &&
        now - s.accepted > opt_.handshake_timeout) {
      log::warn("connection {}: no handshake within {} ms: closing", s.peer, opt_.handshake_timeout.count());
      doom(s, "handshake timeout");
    }
  }
}

// The EVICTED reason is DMFS_EVICT_REVOKE_TIMEOUT for an operator's eviction
// too: the protocol has no other reason for "your locks are gone", and a
// client must react the same way (reconnect, compare data versions).
void Server::evict(uint64_t client, EvictCause cause) {
  Session* s = by_client(client);
  if (cause == EvictCause::operator_request)
    log::warn("EVICT client {} ({}, {}): evicted client {} by operator; dropping its locks and opens",
              client, s ? s->name : "?", s ? s->peer : "?", client);
  else
    log::warn("EVICT client {} ({}, {}): a revoked lock was not cancelled within {} ms; "
              "dropping its locks and opens",
              client, s ? s->name : "?", s ? s->peer : "?", opt_.revoke_timeout.count());
  if (!s) {
    lk::Actions a;
    locks_.drop_client(client, lk::Clock::now(), a);
    apply(a);
    return;
  }
  dmfs_evicted_cb cb{};
  cb.client_id = client;
  cb.reason = DMFS_EVICT_REVOKE_TIMEOUT;
  send(*s, make_message(DMFS_OP_EVICTED, DMFS_HF_CALLBACK, s->next_cb++, 0, {bytes_of(cb)}));
  doom(*s, "evicted");
}

// ---- the admin socket (docs/dmfsd.md, "Admin socket") ----

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

std::string Server::admin_command(std::string_view line) {
  admin::Command cmd = admin::parse_line(line);
  if (!cmd.error.empty()) return "error: " + cmd.error + "\n";
  const auto& w = cmd.words;
  if (w[0] == "help") return w.size() == 1 ? std::string(admin::help_text()) + "ok\n" : "error: usage: help\n";
  if (w[0] == "clients") return w.size() == 1 ? admin_clients() : "error: usage: clients\n";
  if (w[0] == "evict") return w.size() == 2 ? admin_evict(w[1]) : "error: usage: evict ID\n";
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
    out += fmt::format("client {} peer {} locks {} registrations {} name {}\n", s->id, s->peer,
                       s->lock_handles.size(), s->opens.size(), s->name);
  }
  out += fmt::format("ok {} clients\n", live.size());
  return out;
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

void Server::handle(Session& s, const dmfs_hdr& h, Bytes body) {
  ClientMsg m;
  int rc = decode_client(h, body, m);
  log::trace("client {}: {} id {} len {} -> decode {}", s.id, op_name(h.opcode), h.req_id, h.length, rc);
  if (rc == -EPROTO) {
    log::warn("client {} ({}): invalid message flags {:#x} op {}: closing", s.id, s.peer, h.flags, h.opcode);
    reply(s, h, -EPROTO);
    doom(s, "protocol violation");
    return;
  }
  const bool is_answer = h.flags != 0;
  if (s.state == State::hello || s.state == State::auth) {
    const uint16_t want = s.state == State::hello ? DMFS_OP_HELLO : DMFS_OP_AUTH;
    if (is_answer || h.opcode != want || rc != 0) {
      log::warn("connection {}: {} before handshake completed: closing", s.peer, op_name(h.opcode));
      reply(s, h, -EPROTO);
      doom(s, "handshake violation");
      return;
    }
  } else if (s.state == State::closing) {
    return;  // after BYE nothing more is served
  } else if (!is_answer && (h.opcode == DMFS_OP_HELLO || h.opcode == DMFS_OP_AUTH)) {
    log::warn("client {} ({}): {} after the handshake: closing", s.id, s.peer, op_name(h.opcode));
    reply(s, h, -EPROTO);
    doom(s, "handshake repeated");
    return;
  }
  if (rc) {
    reply(s, h, rc);
    return;
  }
  dispatch(s, m);
}

void Server::dispatch(Session& s, const ClientMsg& m) {
  const dmfs_hdr& h = m.hdr;
  const auto now = lk::Clock::now();
  if (h.flags == (DMFS_HF_REPLY | DMFS_HF_CALLBACK)) {
    const auto& ans = std::get<CallbackAnswer>(m.body);
    if (h.req_id == 0 || h.req_id >= s.next_cb) {
      log::warn("client {} ({}): answer to callback {} never sent: closing", s.id, s.peer, h.req_id);
      doom(s, "protocol violation");
      return;
    }
    auto it = s.callbacks.find(h.req_id);
    if (it != s.callbacks.end()) {
      log::debug("client {} acked revoke of lock {:#x} (status {})", s.id, it->second, ans.status);
      s.callbacks.erase(it);
    }
    return;
  }
  switch (h.opcode) {
    case DMFS_OP_HELLO: {
      if (s.state != State::hello) {
        reply(s, h, -EPROTO);
        doom(s, "second HELLO");
        return;
      }
      const auto& r = std::get<Hello>(m.body).r;
      dmfs_hello_rep rep{};
      rep.magic = DMFS_MAGIC;
      rep.version_min = DMFS_PROTO_VERSION_MIN;
      rep.version_max = DMFS_PROTO_VERSION;
      if (r.magic != DMFS_MAGIC) {
        reply(s, h, -EPROTO, {bytes_of(rep)});
        doom(s, "bad magic");
        return;
      }
      uint16_t lo = std::max<uint16_t>(r.version_min, DMFS_PROTO_VERSION_MIN);
      uint16_t hi = std::min<uint16_t>(r.version_max, DMFS_PROTO_VERSION);
      if (lo > hi) {
        log::warn("connection {}: no common protocol version (client {}..{})", s.peer, r.version_min, r.version_max);
        reply(s, h, -EPROTONOSUPPORT, {bytes_of(rep)});
        doom(s, "protocol version");
        return;
      }
      rep.version = hi;
      rep.flags = key_ ? DMFS_HELLO_AUTH_REQUIRED : 0;
      rep.max_msg = DMFS_MAX_MSG;
      rep.max_io = DMFS_MAX_IO;
      rep.revoke_timeout_ms = uint32_t(opt_.revoke_timeout.count());
      s.id = next_client_++;
      rep.client_id = s.id;
      rep.server_boot_id = boot_id_;
      rep.root_id = store_->root_id();
      std::memcpy(s.client_nonce, r.client_nonce, DMFS_NONCE_LEN);
      random_bytes(s.server_nonce, DMFS_NONCE_LEN);
      std::memcpy(rep.server_nonce, s.server_nonce, DMFS_NONCE_LEN);
      s.name = printable(r.client_name, DMFS_CLIENT_NAME_LEN);
      clients_[s.id] = &s;
      s.state = key_ ? State::auth : State::ready;
      log::info("client {} ({}) connected from {}{}{}", s.id, s.name, s.peer,
                r.prev_client_id ? fmt::format(", previously client {}", r.prev_client_id) : "",
                key_ ? ", awaiting auth" : "");
      reply(s, h, 0, {bytes_of(rep)});
      return;
    }
    case DMFS_OP_AUTH: {
      if (s.state != State::auth) {
        reply(s, h, -EPROTO);
        doom(s, "unexpected AUTH");
        return;
      }
      const auto& r = std::get<Auth>(m.body).r;
      if (!proof_equal(r.client_proof, client_proof(*key_, s.client_nonce, s.server_nonce))) {
        log::warn("client {} ({}): wrong shared secret: refused", s.id, s.peer);
        reply(s, h, -EACCES);
        doom(s, "authentication failed");
        return;
      }
      dmfs_auth_rep rep{};
      rep.server_proof = server_proof(*key_, s.client_nonce, s.server_nonce);
      s.state = State::ready;
      reply(s, h, 0, {bytes_of(rep)});
      return;
    }
    case DMFS_OP_PING:
      reply(s, h, 0);
      return;
    case DMFS_OP_BYE: {
      release_session_state(s);
      reply(s, h, 0);
      s.state = State::closing;
      update_events(s);
      return;
    }
    case DMFS_OP_STATFS: {
      dmfs_statfs_rep rep{};
      int rc = store_->statfs(rep);
      reply(s, h, rc, {bytes_of(rep)});
      return;
    }
    case DMFS_OP_LOOKUP: {
      const auto& r = std::get<NameOp>(m.body);
      dmfs_attr_rep rep{};
      int rc = store_->lookup(r.r.parent_id, r.name, rep.attr);
      if (!rc) rep.attr.flags = attr_flags(rep.attr.file_id);
      reply(s, h, rc, {bytes_of(rep)});
      return;
    }
    case DMFS_OP_GETATTR: {
      dmfs_attr_rep rep{};
      int rc = get_attr(std::get<Getattr>(m.body).r.file_id, rep.attr);
      reply(s, h, rc, {bytes_of(rep)});
      return;
    }
    case DMFS_OP_SETATTR: {
      const auto& r = std::get<Setattr>(m.body).r;
      if ((r.valid & DMFS_SA_SIZE) && !opt_.faults.no_etxtbsy && (attr_flags(r.file_id) & DMFS_AF_EXEC_BUSY)) {
        log::info("client {}: truncate of file {} refused: ETXTBSY (running binary)", s.id, r.file_id);
        reply(s, h, -ETXTBSY);
        return;
      }
      dmfs_attr_rep rep{};
      int rc = store_->setattr(r, rep.attr);
      if (!rc) rep.attr.flags = attr_flags(r.file_id);
      reply(s, h, rc, {bytes_of(rep)});
      return;
    }
    case DMFS_OP_CREATE:
    case DMFS_OP_MKDIR: {
      const auto& r = std::get<Create>(m.body);
      dmfs_attr_rep rep{};
      int rc = store_->create(r.r.parent_id, r.name, r.r.mode, r.r.uid, r.r.gid,
                              r.r.flags & DMFS_CREATE_EXCL, h.opcode == DMFS_OP_MKDIR, rep.attr);
      if (!rc) rep.attr.flags = attr_flags(rep.attr.file_id);
      reply(s, h, rc, {bytes_of(rep)});
      return;
    }
    case DMFS_OP_UNLINK:
    case DMFS_OP_RMDIR: {
      const auto& r = std::get<NameOp>(m.body);
      reply(s, h, store_->unlink(r.r.parent_id, r.name, h.opcode == DMFS_OP_RMDIR));
      return;
    }
    case DMFS_OP_RENAME: {
      const auto& r = std::get<Rename>(m.body);
      reply(s, h, store_->rename(r.r.old_parent_id, r.old_name, r.r.new_parent_id, r.new_name,
                                 r.r.flags & DMFS_RENAME_NOREPLACE));
      return;
    }
    case DMFS_OP_READDIR: {
      const auto& r = std::get<Readdir>(m.body).r;
      const size_t limit = DMFS_MAX_MSG - kHdrSize - sizeof(dmfs_readdir_rep);
      size_t max_bytes = std::min<size_t>(r.max_bytes, limit);
      std::vector<DirEntry> ents;
      uint64_t first = 0;
      bool eof = false;
      int rc = store_->readdir(r.dir_id, r.cookie, max_bytes, ents, first, eof);
      if (rc) {
        reply(s, h, rc);
        return;
      }
      std::vector<uint8_t> recs;
      for (size_t i = 0; i < ents.size(); ++i) {
        dmfs_dirent d{};
        d.file_id = ents[i].id;
        d.next_cookie = first + i;
        d.type = ents[i].type;
        d.namelen = uint16_t(ents[i].name.size());
        size_t at = recs.size();
        recs.resize(at + DMFS_DIRENT_RECLEN(ents[i].name.size()), 0);
        std::memcpy(recs.data() + at, &d, sizeof d);
        std::memcpy(recs.data() + at + sizeof d, ents[i].name.data(), ents[i].name.size());
      }
      dmfs_readdir_rep rep{};
      rep.count = uint32_t(ents.size());
      rep.flags = eof ? DMFS_READDIR_EOF : 0;
      reply(s, h, 0, {bytes_of(rep), Bytes(recs.data(), recs.size())});
      return;
    }
    case DMFS_OP_OPEN: {
      const auto& r = std::get<Open>(m.body).r;
      dmfs_open_rep rep{};
      int rc = get_attr(r.file_id, rep.attr);
      if (rc) {
        reply(s, h, rc);
        return;
      }
      const bool is_dir = (rep.attr.mode & S_IFMT) == S_IFDIR;
      const bool wr = r.flags & (DMFS_OPEN_WRITE | DMFS_OPEN_TRUNC);
      const bool ex = r.flags & DMFS_OPEN_EXEC;
      if (is_dir && (wr || ex)) {
        reply(s, h, wr ? -EISDIR : -EACCES);
        return;
      }
      if (!opt_.faults.no_etxtbsy) {
        auto c = open_counts_.find(r.file_id);
        if (c != open_counts_.end() && ((ex && c->second.write) || (wr && c->second.exec))) {
          log::info("client {}: {} open of file {} refused: ETXTBSY", s.id, ex ? "exec" : "write", r.file_id);
          reply(s, h, -ETXTBSY);
          return;
        }
      }
      if (s.opens.size() >= kMaxOpensPerSession) {
        reply(s, h, -EMFILE);
        return;
      }
      if ((r.flags & DMFS_OPEN_TRUNC) && (rc = store_->truncate(r.file_id, 0))) {
        reply(s, h, rc);
        return;
      }
      rep.open_handle = next_open_++;
      s.opens[rep.open_handle] = OpenRec{r.file_id, r.flags};
      auto& c = open_counts_[r.file_id];
      if (ex) ++c.exec;
      if (wr) ++c.write;
      if (!is_dir) store_->pin(r.file_id);
      get_attr(r.file_id, rep.attr);
      log::debug("client {} opened file {} flags {:#x} (handle {})", s.id, r.file_id, r.flags, rep.open_handle);
      reply(s, h, 0, {bytes_of(rep)});
      return;
    }
    case DMFS_OP_CLOSE: {
      auto it = s.opens.find(std::get<Close>(m.body).r.open_handle);
      if (it == s.opens.end()) {
        reply(s, h, -EBADF);
        return;
      }
      auto& c = open_counts_[it->second.file];
      if (it->second.flags & DMFS_OPEN_EXEC) --c.exec;
      if (it->second.flags & (DMFS_OPEN_WRITE | DMFS_OPEN_TRUNC)) --c.write;
      if (!c.exec && !c.write) open_counts_.erase(it->second.file);
      store_->unpin(it->second.file);
      s.opens.erase(it);
      reply(s, h, 0);
      return;
    }
    case DMFS_OP_READ: {
      const auto& r = std::get<Read>(m.body).r;
      dmfs_read_rep rep{};
      uint32_t count = 0;
      int rc = store_->read(r.file_id, r.offset, r.length, io_buf_.data(), count, rep.size, rep.data_version);
      rep.count = count;
      reply(s, h, rc, {bytes_of(rep), Bytes(io_buf_.data(), rc ? 0 : count)});
      return;
    }
    case DMFS_OP_WRITE: {
      const auto& w = std::get<Write>(m.body);
      dmfs_write_rep rep{};
      if (opt_.faults.no_writeback && locks_.revoking(s.id, w.r.file_id)) {
        // Fault: write-back of a revoked lock is acknowledged and dropped
        // (effective even with a client that ignores DMFS_RVF_DISCARD).
        dmfs_attr a{};
        int rc = get_attr(w.r.file_id, a);
        rep.size = a.size;
        rep.data_version = a.data_version;
        log::debug("fault no-writeback: dropped {} bytes at {:#x} of file {} from client {}",
                   w.r.length, w.r.offset, w.r.file_id, s.id);
        reply(s, h, rc, {bytes_of(rep)});
        return;
      }
      int rc = store_->write(w.r.file_id, w.r.offset, w.data.data(), w.r.length,
                             w.r.flags & DMFS_WRITE_SYNC, rep.size, rep.data_version);
      locks_.prolong(s.id, w.r.file_id, now);
      reply(s, h, rc, {bytes_of(rep)});
      return;
    }
    case DMFS_OP_FSYNC: {
      const auto& r = std::get<Fsync>(m.body).r;
      int rc = store_->fsync(r.file_id, r.flags & DMFS_FSYNC_DATASYNC);
      locks_.prolong(s.id, r.file_id, now);
      reply(s, h, rc);
      return;
    }
    case DMFS_OP_LOCK_ENQUEUE: {
      const auto& r = std::get<Enqueue>(m.body).r;
      if (s.pending_enqueues.count(h.req_id)) {
        reply(s, h, -EBADMSG);
        return;
      }
      dmfs_attr attr{};
      int rc = get_attr(r.file_id, attr);
      if (rc) {
        reply(s, h, rc);
        return;
      }
      if ((attr.mode & S_IFMT) != S_IFREG) {
        reply(s, h, (attr.mode & S_IFMT) == S_IFDIR ? -EISDIR : -EINVAL);
        return;
      }
      lk::Actions a;
      auto o = locks_.enqueue(s.id, r.file_id, r.start, r.end, lk::Mode(r.mode), r.flags,
                              h.req_id, now, a);
      switch (o) {
        case lk::LockManager::Outcome::granted:
          break;
        case lk::LockManager::Outcome::queued:
          s.pending_enqueues.insert(h.req_id);
          if (opt_.faults.stale_grant_attr && !stale_attr_.count(r.file_id)) stale_attr_[r.file_id] = attr;
          log::debug("client {} waits for {} [{:#x},{:#x}) of file {}", s.id,
                     lk::mode_name(lk::Mode(r.mode)), r.start, r.end, r.file_id);
          break;
        case lk::LockManager::Outcome::would_block:
          reply(s, h, -EAGAIN);
          break;
        case lk::LockManager::Outcome::too_many:
          reply(s, h, -EBUSY);
          break;
      }
      apply(a);
      return;
    }
    case DMFS_OP_LOCK_CANCEL: {
      const auto& r = std::get<Cancel>(m.body).r;
      lk::Actions a;
      if (r.flags & DMFS_LCF_BY_REQID) {
        int rc = locks_.withdraw(s.id, r.lock_handle, now, a);
        if (rc == 0) {
          s.pending_enqueues.erase(r.lock_handle);
          send(s, make_message(DMFS_OP_LOCK_ENQUEUE, DMFS_HF_REPLY, r.lock_handle, -ECANCELED));
        } else {
          std::vector<lk::PGrant> g;
          rc = plocks_.withdraw(s.id, r.lock_handle, g);
          if (rc == 0) {
            s.pending_plocks.erase(r.lock_handle);
            send(s, make_message(DMFS_OP_PLOCK, DMFS_HF_REPLY, r.lock_handle, -ECANCELED));
          }
          apply_plock(g);
        }
        reply(s, h, rc);
      } else {
        int rc = locks_.cancel(s.id, r.lock_handle, now, a);
        if (rc == 0) {
          log::debug("client {} cancelled lock {:#x}", s.id, r.lock_handle);
          s.lock_handles.erase(r.lock_handle);
          for (auto it = s.callbacks.begin(); it != s.callbacks.end();)
            it = it->second == r.lock_handle ? s.callbacks.erase(it) : std::next(it);
        }
        reply(s, h, rc);
      }
      apply(a);
      return;
    }
    case DMFS_OP_PLOCK: {
      const auto& r = std::get<Plock>(m.body).r;
      dmfs_attr attr{};
      int rc = get_attr(r.file_id, attr);
      if (rc) {
        reply(s, h, rc);
        return;
      }
      const bool fl = r.flags & DMFS_PLKF_FLOCK;
      const auto type = lk::PType(r.type);
      if (r.flags & DMFS_PLKF_TEST) {
        lk::PLockInfo c = plocks_.test(s.id, r.owner, r.file_id, fl, r.start, r.end, type);
        dmfs_plock_rep rep{};
        rep.type = uint32_t(c.type);
        if (c.type != lk::PType::UN) {
          rep.start = c.start;
          rep.end = c.end;
          rep.owner = c.owner;
          rep.pid = c.pid;
        }
        reply(s, h, 0, {bytes_of(rep)});
        return;
      }
      if (s.pending_plocks.count(h.req_id)) {
        reply(s, h, -EBADMSG);
        return;
      }
      std::vector<lk::PGrant> g;
      auto res = plocks_.request(s.id, r.owner, r.file_id, fl, r.start, r.end, type, r.pid,
                                 r.flags & DMFS_PLKF_WAIT, h.req_id, g);
      switch (res) {
        case lk::PLockManager::Result::set: reply(s, h, 0); break;
        case lk::PLockManager::Result::queued:
          s.pending_plocks.insert(h.req_id);
          log::debug("client {} waits for an application lock on file {} [{:#x},{:#x})", s.id,
                     r.file_id, r.start, r.end);
          break;
        case lk::PLockManager::Result::conflict: reply(s, h, -EAGAIN); break;
        case lk::PLockManager::Result::deadlock:
          log::info("client {}: application lock on file {} refused: EDEADLK", s.id, r.file_id);
          reply(s, h, -EDEADLK);
          break;
        case lk::PLockManager::Result::too_many: reply(s, h, -ENOLCK); break;
      }
      apply_plock(g);
      return;
    }
    default:
      reply(s, h, -EOPNOTSUPP);
      return;
  }
}

}  // namespace dmfs
