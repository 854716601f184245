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
#include <array>
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
      {"no-writeback",
       "revoke without write-back: DMFS_RVF_DISCARD set, and WRITEs from a holder under revoke are acknowledged but "
       "dropped",
       &Faults::no_writeback},
      {"no-etxtbsy", "do not enforce cluster-wide deny-write (exec opens vs write opens/truncates)",
       &Faults::no_etxtbsy},
      {"no-dv-bump", "never change a file's data version", &Faults::no_dv_bump},
      {"no-evict", "never evict a client that ignores a revoke (waiters wait forever)", &Faults::no_evict},
      {"stale-grant-attr", "grants after a revoke carry the size/data version from before the write-back",
       &Faults::stale_grant_attr},
      {"no-plock", "application locks (fcntl/flock via PLOCK) never conflict: every lock is granted at once",
       &Faults::no_plock},
      {"ack-enospc",
       "a WRITE the store has no space for (--capacity) is acknowledged as stored but dropped: data lost silently",
       &Faults::ack_enospc},
      {"no-glimpse",
       "answer GLIMPSE from the server's attributes alone: other clients' unwritten size and mtime are not asked for",
       &Faults::no_glimpse},
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

Server::Server(ServerOptions opt) : opt_(std::move(opt)), locks_(lock_config(opt_)), plocks_(plock_config(opt_)) {
  umask(0);
  // The admin socket first: a refused PATH (another dmfsd serving it) must
  // leave the backing store untouched (no epoch bump, no clean marker taken).
  if (!opt_.admin_path.empty()) admin_ = admin::SocketFile(opt_.admin_path);
  store_ = std::make_unique<BackingStore>(opt_.root, opt_.faults.no_dv_bump);
  store_->capacity().set(opt_.capacity);
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
  log::info("listening on {}:{} (protocol {}, revoke timeout {} ms{})", opt_.listen_addr, port_, DMFS_PROTO_VERSION,
            opt_.revoke_timeout.count(), key_ ? ", shared secret required" : "");
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
    auto d = locks_.next_deadline();
    if (auto g = glimpses_.next_deadline(); g && (!d || *g < *d)) d = g;
    if (d) {
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
      send_message(s, DMFS_OP_EVICTED, DMFS_HF_CALLBACK, s.next_cb++, 0, {bytes_of(cb)});
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
      log::warn("client {} ({}): bad frame (length {}, flags {:#x}): closing", s.id, s.peer, h.length, h.flags);
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
  // EPOLLOUT only while replies wait: one epoll_ctl when that changes, not
  // one a reply (a reply the socket takes at once changes nothing)
  if (s.want_out != !s.out.empty()) {
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

// Sends a message: when nothing waits in the queue, with one sendmsg
// straight from its parts, which copies them into the socket: a READ's
// data is copied once in dmfsd (file to io_buf_), not again into a message
// first. Only what the socket does not take now is copied into the queue,
// so a message always holds what its parts held when it was sent.
void Server::send_message(Session& s, uint16_t op, uint16_t flags, uint64_t id, int32_t status,
                          std::initializer_list<Bytes> parts) {
  if (s.fd < 0) return;
  size_t body = 0;
  for (auto p : parts) body += p.size();
  const dmfs_hdr hdr = make_header(op, flags, id, status, body);
  std::array<iovec, 8> iov{};
  size_t cnt = 0, sent = 0;
  iov[cnt++] = {const_cast<dmfs_hdr*>(&hdr), kHdrSize};
  for (auto p : parts) {
    if (p.empty()) continue;
    if (cnt == iov.size()) throw std::logic_error("send_message: too many parts");
    iov[cnt++] = {const_cast<uint8_t*>(p.data()), p.size()};
  }
  if (s.out.empty()) {
    msghdr mh{};
    mh.msg_iov = iov.data();
    mh.msg_iovlen = cnt;
    ssize_t w = sendmsg(s.fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && errno != EAGAIN && errno != EINTR) return doom(s, strerror(errno));
    sent = w > 0 ? size_t(w) : 0;
  }
  if (sent == hdr.length) return;
  std::vector<uint8_t> rest;
  rest.reserve(hdr.length - sent);
  for (size_t i = 0; i < cnt; ++i) {
    const auto* p = static_cast<const uint8_t*>(iov[i].iov_base);
    const size_t skip = std::min(sent, iov[i].iov_len);
    rest.insert(rest.end(), p + skip, p + iov[i].iov_len);
    sent -= skip;
  }
  send(s, std::move(rest));
}

void Server::reply(Session& s, const dmfs_hdr& h, int32_t status, std::initializer_list<Bytes> parts) {
  if (status != 0)
    log::trace("client {}: {} id {} -> {} ({})", s.id, op_name(h.opcode), h.req_id, status, strerror(-status));
  else
    log::trace("client {}: {} id {} -> 0", s.id, op_name(h.opcode), h.req_id);
  if (status != 0 && h.opcode != DMFS_OP_HELLO)  // an error has no body
    return send_message(s, h.opcode, DMFS_HF_REPLY, h.req_id, status, {});
  send_message(s, h.opcode, DMFS_HF_REPLY, h.req_id, status, parts);
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
  for (auto& [h, o] : s.opens) forget_open(o);
  s.opens.clear();
  s.lock_handles.clear();
  s.pending_enqueues.clear();
  s.page_intents.clear();
  s.pending_plocks.clear();
  s.callbacks.clear();
  s.glimpse_cbs.clear();
  drop_glimpses(s.id);
  lk::Actions a;
  locks_.drop_client(s.id, lk::Clock::now(), a);
  apply(a);
  std::vector<lk::PGrant> g;
  plocks_.drop_client(s.id, g);
  apply_plock(g);
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

void Server::check_evictions() {
  auto now = lk::Clock::now();
  for (uint64_t c : locks_.expired(now)) evict(c, EvictCause::revoke_timeout);
  for (uint64_t c : glimpses_.expired(now)) evict(c, EvictCause::glimpse_timeout);
}

// Connections that never complete the handshake do not keep a slot.
void Server::check_handshakes() {
  auto now = lk::Clock::now();
  if (now - last_sweep_ < std::chrono::milliseconds(250)) return;
  last_sweep_ = now;
  for (auto& [fd, sp] : sessions_) {
    Session& s = *sp;
    if (!s.doomed && (s.state == State::hello || s.state == State::auth) && now - s.accepted > opt_.handshake_timeout) {
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
    log::warn("EVICT client {} ({}, {}): evicted client {} by operator; dropping its locks and opens", client,
              s ? s->name : "?", s ? s->peer : "?", client);
  else
    log::warn("EVICT client {} ({}, {}): {} within {} ms; dropping its locks and opens", client, s ? s->name : "?",
              s ? s->peer : "?",
              cause == EvictCause::glimpse_timeout ? "a glimpse was not answered" : "a revoked lock was not cancelled",
              opt_.revoke_timeout.count());
  if (!s) {
    drop_glimpses(client);
    lk::Actions a;
    locks_.drop_client(client, lk::Clock::now(), a);
    apply(a);
    return;
  }
  dmfs_evicted_cb cb{};
  cb.client_id = client;
  cb.reason = DMFS_EVICT_REVOKE_TIMEOUT;
  send_message(*s, DMFS_OP_EVICTED, DMFS_HF_CALLBACK, s->next_cb++, 0, {bytes_of(cb)});
  doom(*s, "evicted");
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

// Routes a decoded message to its handler (handle() has checked that the
// session's state allows it).
void Server::dispatch(Session& s, const ClientMsg& m) {
  const dmfs_hdr& h = m.hdr;
  if (h.flags == (DMFS_HF_REPLY | DMFS_HF_CALLBACK)) return on_callback_answer(s, h, std::get<CallbackAnswer>(m.body));
  switch (h.opcode) {
    case DMFS_OP_HELLO: return op_hello(s, h, std::get<Hello>(m.body));
    case DMFS_OP_AUTH: return op_auth(s, h, std::get<Auth>(m.body));
    case DMFS_OP_PING: return reply(s, h, 0);
    case DMFS_OP_BYE: return op_bye(s, h);
    case DMFS_OP_STATFS: return op_statfs(s, h);
    case DMFS_OP_LOOKUP: return op_lookup(s, h, std::get<NameOp>(m.body));
    case DMFS_OP_GETATTR: return op_getattr(s, h, std::get<Getattr>(m.body));
    case DMFS_OP_GLIMPSE: return op_glimpse(s, h, std::get<Glimpse>(m.body));
    case DMFS_OP_SETATTR: return op_setattr(s, h, std::get<Setattr>(m.body));
    case DMFS_OP_CREATE:
    case DMFS_OP_MKDIR: return op_create(s, h, std::get<Create>(m.body));
    case DMFS_OP_UNLINK:
    case DMFS_OP_RMDIR: return op_unlink(s, h, std::get<NameOp>(m.body));
    case DMFS_OP_RENAME: return op_rename(s, h, std::get<Rename>(m.body));
    case DMFS_OP_READDIR: return op_readdir(s, h, std::get<Readdir>(m.body));
    case DMFS_OP_OPEN: return op_open(s, h, std::get<Open>(m.body));
    case DMFS_OP_CLOSE: return op_close(s, h, std::get<Close>(m.body));
    case DMFS_OP_READ: return op_read(s, h, std::get<Read>(m.body));
    case DMFS_OP_WRITE: return op_write(s, h, std::get<Write>(m.body));
    case DMFS_OP_FSYNC: return op_fsync(s, h, std::get<Fsync>(m.body));
    case DMFS_OP_LOCK_ENQUEUE: return op_lock_enqueue(s, h, std::get<Enqueue>(m.body));
    case DMFS_OP_LOCK_CANCEL: return op_lock_cancel(s, h, std::get<Cancel>(m.body));
    case DMFS_OP_PLOCK: return op_plock(s, h, std::get<Plock>(m.body));
    default: return reply(s, h, -EOPNOTSUPP);
  }
}

void Server::op_hello(Session& s, const dmfs_hdr& h, const Hello& m) {
  if (s.state != State::hello) {
    reply(s, h, -EPROTO);
    doom(s, "second HELLO");
    return;
  }
  const auto& r = m.r;
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
  start_session(s, r, rep);
  reply(s, h, 0, {bytes_of(rep)});
}

// A HELLO accepted: the session gets its client id and nonces, and the
// rest of the reply is filled in.
void Server::start_session(Session& s, const dmfs_hello_req& r, dmfs_hello_rep& rep) {
  rep.flags = (key_ ? DMFS_HELLO_AUTH_REQUIRED : 0) | DMFS_HELLO_GRANT_PAGES;
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
  s.answers_glimpse = r.flags & DMFS_HELLO_ANSWERS_GLIMPSE;
  clients_[s.id] = &s;
  s.state = key_ ? State::auth : State::ready;
  log::info("client {} ({}) connected from {}{}{}", s.id, s.name, s.peer,
            r.prev_client_id ? fmt::format(", previously client {}", r.prev_client_id) : "",
            key_ ? ", awaiting auth" : "");
}

void Server::op_auth(Session& s, const dmfs_hdr& h, const Auth& m) {
  if (s.state != State::auth) {
    reply(s, h, -EPROTO);
    doom(s, "unexpected AUTH");
    return;
  }
  if (!proof_equal(m.r.client_proof, client_proof(*key_, s.client_nonce, s.server_nonce))) {
    log::warn("client {} ({}): wrong shared secret: refused", s.id, s.peer);
    reply(s, h, -EACCES);
    doom(s, "authentication failed");
    return;
  }
  dmfs_auth_rep rep{};
  rep.server_proof = server_proof(*key_, s.client_nonce, s.server_nonce);
  s.state = State::ready;
  reply(s, h, 0, {bytes_of(rep)});
}

void Server::op_bye(Session& s, const dmfs_hdr& h) {
  release_session_state(s);
  reply(s, h, 0);
  s.state = State::closing;
  update_events(s);
}

}  // namespace dmfs
