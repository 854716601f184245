#include "client.hpp"

#include <netdb.h>
#include <netinet/tcp.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "siphash.hpp"

namespace dmfs {

using namespace wire;

namespace {
bool recv_all(int fd, void* p, size_t n) {
  auto* b = static_cast<uint8_t*>(p);
  while (n) {
    ssize_t r = ::recv(fd, b, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    b += r;
    n -= size_t(r);
  }
  return true;
}
}  // namespace

Client::Client(const ClientOptions& opt) : opt_(opt) {}

std::unique_ptr<Client> Client::try_connect(const ClientOptions& opt, int* status) {
  std::unique_ptr<Client> c(new Client(opt));
  addrinfo hints{}, *res = nullptr;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  std::string port = std::to_string(opt.port);
  if (getaddrinfo(opt.host.c_str(), port.c_str(), &hints, &res) != 0) {
    *status = -EHOSTUNREACH;
    return nullptr;
  }
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
    *status = -errno;
    if (fd >= 0) ::close(fd);
    freeaddrinfo(res);
    return nullptr;
  }
  freeaddrinfo(res);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->fd_ = fd;
  c->reader_thread_ = std::thread([p = c.get()] { p->reader(); });
  c->cb_thread_ = std::thread([p = c.get()] { p->callbacks(); });
  int rc = c->handshake();
  if (rc) {
    *status = rc;
    return nullptr;
  }
  *status = 0;
  return c;
}

std::unique_ptr<Client> Client::connect(const ClientOptions& opt) {
  int st = 0;
  auto c = try_connect(opt, &st);
  if (!c)
    throw std::runtime_error("dmfs connect to " + opt.host + ":" + std::to_string(opt.port) +
                             " failed: " + strerror(-st));
  return c;
}

Client::~Client() {
  kill();
  if (reader_thread_.joinable()) reader_thread_.join();
  {
    std::lock_guard<std::mutex> g(cb_mu_);
    stop_cb_ = true;
  }
  cb_cv_.notify_all();
  if (cb_thread_.joinable()) cb_thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

void Client::kill() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

int Client::handshake() {
  dmfs_hello_req h{};
  h.magic = DMFS_MAGIC;
  h.version_min = DMFS_PROTO_VERSION_MIN;
  h.version_max = DMFS_PROTO_VERSION;
  h.prev_client_id = opt_.prev_client_id;
  if (!opt_.no_glimpse_answers) h.flags = DMFS_HELLO_ANSWERS_GLIMPSE;
  if (getrandom(h.client_nonce, sizeof h.client_nonce, 0) != sizeof h.client_nonce)
    for (auto& b : h.client_nonce) b = uint8_t(rand());
  std::strncpy(reinterpret_cast<char*>(h.client_name), opt_.name.c_str(), DMFS_CLIENT_NAME_LEN - 1);
  Reply r = call(DMFS_OP_HELLO, {bytes_of(h)});
  if (r.status) return r.status;
  if (!r.get(hello_) || hello_.magic != DMFS_MAGIC) return -EPROTO;
  if (hello_.flags & DMFS_HELLO_AUTH_REQUIRED) {
    if (!opt_.secret) return -EACCES;
    AuthKey k = derive_auth_key(*opt_.secret);
    dmfs_auth_req a{};
    a.client_proof = client_proof(k, h.client_nonce, hello_.server_nonce);
    Reply ar = call(DMFS_OP_AUTH, {bytes_of(a)});
    if (ar.status) return ar.status;
    dmfs_auth_rep rep{};
    if (!ar.get(rep) || !proof_equal(rep.server_proof, server_proof(k, h.client_nonce, hello_.server_nonce)))
      return -EACCES;
  }
  return 0;
}

void Client::fail_all(int status) {
  std::map<uint64_t, std::promise<Reply>> p;
  {
    std::lock_guard<std::mutex> g(mu_);
    closed_ = true;
    p.swap(pending_);
  }
  for (auto& [id, pr] : p) {
    Reply r;
    r.status = status;
    pr.set_value(std::move(r));
  }
  closed_cv_.notify_all();
}

void Client::reader() {
  for (;;) {
    dmfs_hdr h{};
    if (!recv_all(fd_, &h, sizeof h) || check_header(h) != 0) break;
    Reply r;
    r.hdr = h;
    r.status = int32_t(h.status);
    r.body.resize(h.length - sizeof h);
    if (!r.body.empty() && !recv_all(fd_, r.body.data(), r.body.size())) break;
    if (h.flags & DMFS_HF_CALLBACK) {
      if (h.opcode == DMFS_OP_REVOKE) {
        dmfs_revoke_cb cb{};
        if (!r.get(cb)) break;
        ++revokes_;
        {
          std::lock_guard<std::mutex> g(cb_mu_);
          cb_queue_.emplace_back(h.req_id, cb);
        }
        cb_cv_.notify_all();
      } else if (h.opcode == DMFS_OP_GLIMPSE_CB) {
        answer_glimpse(h.req_id, r);
      } else if (h.opcode == DMFS_OP_EVICTED) {
        dmfs_evicted_cb cb{};
        if (r.get(cb)) evicted_reason_ = cb.reason;
      }
      continue;
    }
    std::promise<Reply> pr;
    {
      std::lock_guard<std::mutex> g(mu_);
      auto it = pending_.find(h.req_id);
      if (it == pending_.end()) continue;  // unexpected reply: ignore
      pr = std::move(it->second);
      pending_.erase(it);
    }
    pr.set_value(std::move(r));
  }
  fail_all(-ENOTCONN);
}

void Client::callbacks() {
  for (;;) {
    std::pair<uint64_t, dmfs_revoke_cb> item;
    RevokeHandler h;
    {
      std::unique_lock<std::mutex> g(cb_mu_);
      cb_cv_.wait(g, [&] { return stop_cb_ || !cb_queue_.empty(); });
      if (cb_queue_.empty()) return;
      item = cb_queue_.front();
      cb_queue_.pop_front();
      h = handler_;
    }
    if (h) {
      h(*this, item.first, item.second);
    } else {
      // Nothing cached, nothing to write back: ack and cancel without
      // waiting for the cancel's reply (the hand-off is on the server).
      ack_revoke(item.first, 0);
      dmfs_lock_cancel_req q{};
      q.lock_handle = item.second.lock_handle;
      (void)call_async(DMFS_OP_LOCK_CANCEL, {bytes_of(q)});
    }
  }
}

void Client::set_revoke_handler(RevokeHandler h) {
  std::lock_guard<std::mutex> g(cb_mu_);
  handler_ = std::move(h);
}

void Client::set_glimpse_handler(GlimpseHandler h) {
  std::lock_guard<std::mutex> g(cb_mu_);
  glimpse_handler_ = std::move(h);
}

void Client::answer_glimpse(uint64_t cb_id, const Reply& r) {
  ++glimpses_;
  if (ignore_glimpses_) return;
  dmfs_glimpse_cb cb{};
  GlimpseHandler h;
  {
    std::lock_guard<std::mutex> g(cb_mu_);
    h = glimpse_handler_;
  }
  std::optional<dmfs_glimpse_rep> rep;
  if (r.get(cb) && h) rep = h(cb.file_id);
  const uint16_t flags = DMFS_HF_REPLY | DMFS_HF_CALLBACK;
  if (rep)
    send_bytes(make_message(DMFS_OP_GLIMPSE_CB, flags, cb_id, 0, {bytes_of(*rep)}));
  else
    send_bytes(make_message(DMFS_OP_GLIMPSE_CB, flags, cb_id, -ENOENT));
}

void Client::ack_revoke(uint64_t cb_id, int32_t status) {
  send_bytes(make_message(DMFS_OP_REVOKE, DMFS_HF_REPLY | DMFS_HF_CALLBACK, cb_id, status));
}

bool Client::send_bytes(const std::vector<uint8_t>& m) {
  std::lock_guard<std::mutex> g(send_mu_);
  const uint8_t* p = m.data();
  size_t n = m.size();
  while (n) {
    ssize_t w = ::send(fd_, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= size_t(w);
  }
  return true;
}

bool Client::send_raw(const void* data, size_t len) {
  const auto* p = static_cast<const uint8_t*>(data);
  return send_bytes(std::vector<uint8_t>(p, p + len));
}

std::future<Reply> Client::call_async(uint16_t op, std::initializer_list<Bytes> parts, uint64_t* req_id) {
  uint64_t id = next_id_++;
  if (req_id) *req_id = id;
  std::future<Reply> f;
  {
    std::lock_guard<std::mutex> g(mu_);
    if (closed_) {
      std::promise<Reply> p;
      Reply r;
      r.status = -ENOTCONN;
      p.set_value(r);
      return p.get_future();
    }
    f = pending_[id].get_future();
  }
  if (!send_bytes(make_message(op, 0, id, 0, parts))) {
    std::promise<Reply> p;
    {
      std::lock_guard<std::mutex> g(mu_);
      auto it = pending_.find(id);
      if (it != pending_.end()) {
        p = std::move(it->second);
        pending_.erase(it);
        Reply r;
        r.status = -ENOTCONN;
        p.set_value(r);
      }
    }
  }
  return f;
}

int Client::wait(std::future<Reply>& f, Reply& r) {
  if (f.wait_for(opt_.timeout) != std::future_status::ready) {
    r.status = -ETIMEDOUT;
    return r.status;
  }
  r = f.get();
  return r.status;
}

Reply Client::call(uint16_t op, std::initializer_list<Bytes> parts) {
  auto f = call_async(op, parts);
  Reply r;
  wait(f, r);
  return r;
}

bool Client::wait_closed(std::chrono::milliseconds t) {
  std::unique_lock<std::mutex> g(mu_);
  return closed_cv_.wait_for(g, t, [&] { return closed_.load(); });
}

int Client::ping() { return call(DMFS_OP_PING, {}).status; }
int Client::bye() { return call(DMFS_OP_BYE, {}).status; }

int Client::statfs(dmfs_statfs_rep& out) {
  Reply r = call(DMFS_OP_STATFS, {});
  if (!r.status && !r.get(out)) return -EBADMSG;
  return r.status;
}

int Client::lookup(uint64_t parent, std::string_view name, dmfs_attr& out) {
  dmfs_name_req q{};
  q.parent_id = parent;
  q.namelen = uint16_t(name.size());
  Reply r = call(DMFS_OP_LOOKUP, {bytes_of(q), bytes_of(name)});
  if (!r.status && !r.get(out)) return -EBADMSG;
  return r.status;
}

int Client::getattr(uint64_t id, dmfs_attr& out) {
  dmfs_fid_req q{id};
  Reply r = call(DMFS_OP_GETATTR, {bytes_of(q)});
  if (!r.status && !r.get(out)) return -EBADMSG;
  return r.status;
}

int Client::glimpse(uint64_t id, dmfs_attr& out) {
  dmfs_fid_req q{id};
  Reply r = call(DMFS_OP_GLIMPSE, {bytes_of(q)});
  if (!r.status && !r.get(out)) return -EBADMSG;
  return r.status;
}

int Client::setattr(const dmfs_setattr_req& q, dmfs_attr* out) {
  Reply r = call(DMFS_OP_SETATTR, {bytes_of(q)});
  if (!r.status && out && !r.get(*out)) return -EBADMSG;
  return r.status;
}

int Client::truncate(uint64_t id, uint64_t size) {
  dmfs_setattr_req q{};
  q.file_id = id;
  q.valid = DMFS_SA_SIZE;
  q.size = size;
  return setattr(q);
}

int Client::create(uint64_t parent, std::string_view name, uint32_t mode, dmfs_attr& out, bool excl) {
  dmfs_create_req q{};
  q.parent_id = parent;
  q.mode = mode;
  q.uid = getuid();
  q.gid = getgid();
  q.flags = excl ? DMFS_CREATE_EXCL : 0;
  q.namelen = uint16_t(name.size());
  Reply r = call(DMFS_OP_CREATE, {bytes_of(q), bytes_of(name)});
  if (!r.status && !r.get(out)) return -EBADMSG;
  return r.status;
}

int Client::mkdir(uint64_t parent, std::string_view name, uint32_t mode, dmfs_attr& out) {
  dmfs_create_req q{};
  q.parent_id = parent;
  q.mode = mode;
  q.uid = getuid();
  q.gid = getgid();
  q.namelen = uint16_t(name.size());
  Reply r = call(DMFS_OP_MKDIR, {bytes_of(q), bytes_of(name)});
  if (!r.status && !r.get(out)) return -EBADMSG;
  return r.status;
}

int Client::unlink(uint64_t parent, std::string_view name) {
  dmfs_name_req q{};
  q.parent_id = parent;
  q.namelen = uint16_t(name.size());
  return call(DMFS_OP_UNLINK, {bytes_of(q), bytes_of(name)}).status;
}

int Client::rmdir(uint64_t parent, std::string_view name) {
  dmfs_name_req q{};
  q.parent_id = parent;
  q.namelen = uint16_t(name.size());
  return call(DMFS_OP_RMDIR, {bytes_of(q), bytes_of(name)}).status;
}

int Client::rename(uint64_t oldp, std::string_view oldn, uint64_t newp, std::string_view newn, uint32_t flags) {
  dmfs_rename_req q{};
  q.old_parent_id = oldp;
  q.new_parent_id = newp;
  q.flags = flags;
  q.old_namelen = uint16_t(oldn.size());
  q.new_namelen = uint16_t(newn.size());
  return call(DMFS_OP_RENAME, {bytes_of(q), bytes_of(oldn), bytes_of(newn)}).status;
}

int Client::readdir(uint64_t dir, std::vector<DirEntryInfo>& out, uint32_t max_bytes) {
  out.clear();
  uint64_t cookie = 0;
  for (int guard = 0; guard < 1000000; ++guard) {
    dmfs_readdir_req q{};
    q.dir_id = dir;
    q.cookie = cookie;
    q.max_bytes = max_bytes;
    Reply r = call(DMFS_OP_READDIR, {bytes_of(q)});
    if (r.status) return r.status;
    dmfs_readdir_rep rep{};
    if (!r.get(rep)) return -EBADMSG;
    size_t off = sizeof rep;
    for (uint32_t i = 0; i < rep.count; ++i) {
      dmfs_dirent d{};
      if (off + sizeof d > r.body.size()) return -EBADMSG;
      std::memcpy(&d, r.body.data() + off, sizeof d);
      if (off + sizeof d + d.namelen > r.body.size()) return -EBADMSG;
      out.push_back(DirEntryInfo{
          d.file_id, std::string(reinterpret_cast<const char*>(r.body.data() + off + sizeof d), d.namelen), d.type});
      cookie = d.next_cookie;
      off += DMFS_DIRENT_RECLEN(d.namelen);
    }
    if ((rep.flags & DMFS_READDIR_EOF) || rep.count == 0) return 0;
  }
  return -ELOOP;
}

int Client::open(uint64_t id, uint32_t flags, uint64_t& handle, dmfs_attr* attr) {
  dmfs_open_req q{};
  q.file_id = id;
  q.flags = flags;
  Reply r = call(DMFS_OP_OPEN, {bytes_of(q)});
  if (r.status) return r.status;
  dmfs_open_rep rep{};
  if (!r.get(rep)) return -EBADMSG;
  handle = rep.open_handle;
  if (attr) *attr = rep.attr;
  return 0;
}

int Client::close(uint64_t handle) {
  dmfs_close_req q{handle};
  return call(DMFS_OP_CLOSE, {bytes_of(q)}).status;
}

int Client::read(uint64_t id, uint64_t off, uint32_t len, std::string& data, dmfs_read_rep* out) {
  dmfs_read_req q{};
  q.file_id = id;
  q.offset = off;
  q.length = len;
  Reply r = call(DMFS_OP_READ, {bytes_of(q)});
  if (r.status) return r.status;
  dmfs_read_rep rep{};
  if (!r.get(rep) || r.body.size() != sizeof rep + rep.count) return -EBADMSG;
  data.assign(reinterpret_cast<const char*>(r.body.data() + sizeof rep), rep.count);
  if (out) *out = rep;
  return 0;
}

int Client::write(uint64_t id, uint64_t off, std::string_view data, dmfs_write_rep* out, uint32_t flags) {
  dmfs_write_req q{};
  q.file_id = id;
  q.offset = off;
  q.length = uint32_t(data.size());
  q.flags = flags;
  Reply r = call(DMFS_OP_WRITE, {bytes_of(q), bytes_of(data)});
  if (!r.status && out && !r.get(*out)) return -EBADMSG;
  return r.status;
}

int Client::fsync(uint64_t id) {
  dmfs_fsync_req q{};
  q.file_id = id;
  return call(DMFS_OP_FSYNC, {bytes_of(q)}).status;
}

std::future<Reply> Client::lock_async(uint64_t id, uint64_t start, uint64_t end, uint32_t mode, uint32_t flags,
                                      uint64_t* req_id) {
  dmfs_lock_enqueue_req q{};
  q.file_id = id;
  q.start = start;
  q.end = end;
  q.mode = mode;
  q.flags = flags;
  return call_async(DMFS_OP_LOCK_ENQUEUE, {bytes_of(q)}, req_id);
}

int Client::lock(uint64_t id, uint64_t start, uint64_t end, uint32_t mode, uint32_t flags, dmfs_lock_enqueue_rep& out,
                 std::string* page) {
  auto f = lock_async(id, start, end, mode, flags);
  Reply r;
  if (wait(f, r)) return r.status;
  if (!r.get(out)) return -EBADMSG;
  if (page && (out.flags & DMFS_LGF_PAGE)) page->assign(r.body.begin() + sizeof out, r.body.end());
  return 0;
}

std::future<Reply> Client::plock_async(uint64_t id, uint64_t owner, uint64_t start, uint64_t end, uint32_t type,
                                       uint32_t flags, uint64_t* req_id) {
  dmfs_plock_req q{};
  q.file_id = id;
  q.owner = owner;
  q.start = start;
  q.end = end;
  q.type = type;
  q.flags = flags;
  q.pid = uint32_t(getpid());
  return call_async(DMFS_OP_PLOCK, {bytes_of(q)}, req_id);
}

int Client::plock(uint64_t id, uint64_t owner, uint64_t start, uint64_t end, uint32_t type, uint32_t flags,
                  dmfs_plock_rep* conflict, uint32_t pid) {
  dmfs_plock_req q{};
  q.file_id = id;
  q.owner = owner;
  q.start = start;
  q.end = end;
  q.type = type;
  q.flags = flags;
  q.pid = pid ? pid : uint32_t(getpid());
  Reply r = call(DMFS_OP_PLOCK, {bytes_of(q)});
  if (!r.status && (flags & DMFS_PLKF_TEST) && conflict && !r.get(*conflict)) return -EBADMSG;
  return r.status;
}

int Client::cancel(uint64_t handle, uint32_t flags) {
  dmfs_lock_cancel_req q{};
  q.lock_handle = handle;
  q.flags = flags;
  return call(DMFS_OP_LOCK_CANCEL, {bytes_of(q)}).status;
}

}  // namespace dmfs
