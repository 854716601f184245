// Extent locks and application locks: the request handlers (LOCK_ENQUEUE,
// LOCK_CANCEL, PLOCK, answers to revokes) and the sending of what the lock
// managers decided (grants, revokes, application locks set after a wait).
#include <sys/stat.h>

#include <cerrno>

#include "log.hpp"
#include "server.hpp"

namespace dmfs {

using namespace wire;

void Server::on_callback_answer(Session& s, const dmfs_hdr& h, const CallbackAnswer& ans) {
  if (h.req_id == 0 || h.req_id >= s.next_cb) {
    log::warn("client {} ({}): answer to callback {} never sent: closing", s.id, s.peer, h.req_id);
    doom(s, "protocol violation");
    return;
  }
  if (ans.opcode == DMFS_OP_GLIMPSE_CB) return on_glimpse_answer(s, h, ans);
  auto it = s.callbacks.find(h.req_id);
  if (it != s.callbacks.end()) {
    log::debug("client {} acked revoke of lock {:#x} (status {})", s.id, it->second, ans.status);
    s.callbacks.erase(it);
  }
}

void Server::op_lock_enqueue(Session& s, const dmfs_hdr& h, const Enqueue& m) {
  const auto& r = m.r;
  const auto now = lk::Clock::now();
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
  if (r.flags & DMFS_LKF_WITH_PAGE) s.page_intents[h.req_id] = r.start;
  auto o = locks_.enqueue(s.id, r.file_id, r.start, r.end, lk::Mode(r.mode), r.flags & ~DMFS_LKF_WITH_PAGE, h.req_id,
                          now, a);
  if (o != lk::LockManager::Outcome::granted && o != lk::LockManager::Outcome::queued) s.page_intents.erase(h.req_id);
  switch (o) {
    case lk::LockManager::Outcome::granted: break;
    case lk::LockManager::Outcome::queued:
      s.pending_enqueues.insert(h.req_id);
      if (opt_.faults.stale_grant_attr && !stale_attr_.count(r.file_id)) stale_attr_[r.file_id] = attr;
      log::debug("client {} waits for {} [{:#x},{:#x}) of file {}", s.id, lk::mode_name(lk::Mode(r.mode)), r.start,
                 r.end, r.file_id);
      break;
    case lk::LockManager::Outcome::would_block: reply(s, h, -EAGAIN); break;
    case lk::LockManager::Outcome::too_many: reply(s, h, -EBUSY); break;
  }
  apply(a);
}

void Server::op_lock_cancel(Session& s, const dmfs_hdr& h, const Cancel& m) {
  const auto& r = m.r;
  const auto now = lk::Clock::now();
  lk::Actions a;
  int rc;
  if (r.flags & DMFS_LCF_BY_REQID) {
    rc = withdraw_request(s, r.lock_handle, now, a);
  } else {
    rc = locks_.cancel(s.id, r.lock_handle, now, a);
    if (rc == 0) {
      log::debug("client {} cancelled lock {:#x}", s.id, r.lock_handle);
      s.lock_handles.erase(r.lock_handle);
      for (auto it = s.callbacks.begin(); it != s.callbacks.end();)
        it = it->second == r.lock_handle ? s.callbacks.erase(it) : std::next(it);
    }
  }
  reply(s, h, rc);
  apply(a);
}

// A waiting request withdrawn by its request id, extent lock or application
// lock: its own reply is -ECANCELED, sent before the cancel's reply.
int Server::withdraw_request(Session& s, uint64_t req_id, lk::TimePoint now, lk::Actions& a) {
  int rc = locks_.withdraw(s.id, req_id, now, a);
  if (rc == 0) {
    s.pending_enqueues.erase(req_id);
    s.page_intents.erase(req_id);
    send_message(s, DMFS_OP_LOCK_ENQUEUE, DMFS_HF_REPLY, req_id, -ECANCELED);
    return rc;
  }
  std::vector<lk::PGrant> g;
  rc = plocks_.withdraw(s.id, req_id, g);
  if (rc == 0) {
    s.pending_plocks.erase(req_id);
    send_message(s, DMFS_OP_PLOCK, DMFS_HF_REPLY, req_id, -ECANCELED);
  }
  apply_plock(g);
  return rc;
}

void Server::op_plock(Session& s, const dmfs_hdr& h, const Plock& m) {
  const auto& r = m.r;
  dmfs_attr attr{};
  int rc = get_attr(r.file_id, attr);
  if (rc) {
    reply(s, h, rc);
    return;
  }
  if (r.flags & DMFS_PLKF_TEST) {
    plock_test(s, h, r);
    return;
  }
  if (s.pending_plocks.count(h.req_id)) {
    reply(s, h, -EBADMSG);
    return;
  }
  std::vector<lk::PGrant> g;
  auto res = plocks_.request(s.id, r.owner, r.file_id, r.flags & DMFS_PLKF_FLOCK, r.start, r.end, lk::PType(r.type),
                             r.pid, r.flags & DMFS_PLKF_WAIT, h.req_id, g);
  switch (res) {
    case lk::PLockManager::Result::set: reply(s, h, 0); break;
    case lk::PLockManager::Result::queued:
      s.pending_plocks.insert(h.req_id);
      log::debug("client {} waits for an application lock on file {} [{:#x},{:#x})", s.id, r.file_id, r.start, r.end);
      break;
    case lk::PLockManager::Result::conflict: reply(s, h, -EAGAIN); break;
    case lk::PLockManager::Result::deadlock:
      log::info("client {}: application lock on file {} refused: EDEADLK", s.id, r.file_id);
      reply(s, h, -EDEADLK);
      break;
    case lk::PLockManager::Result::too_many: reply(s, h, -ENOLCK); break;
  }
  apply_plock(g);
}

// F_GETLK: the first conflicting application lock, or type UN.
void Server::plock_test(Session& s, const dmfs_hdr& h, const dmfs_plock_req& r) {
  lk::PLockInfo c = plocks_.test(s.id, r.owner, r.file_id, r.flags & DMFS_PLKF_FLOCK, r.start, r.end,
                                 lk::PType(r.type));
  dmfs_plock_rep rep{};
  rep.type = uint32_t(c.type);
  if (c.type != lk::PType::UN) {
    rep.start = c.start;
    rep.end = c.end;
    rep.owner = c.owner;
    rep.pid = c.pid;
  }
  reply(s, h, 0, {bytes_of(rep)});
}

void Server::apply_plock(std::vector<lk::PGrant>& g) {
  for (auto& x : g) {
    Session* c = by_client(x.client);
    if (!c) continue;
    c->pending_plocks.erase(x.token);
    log::debug("application lock of client {} (request {}) set after waiting", x.client, x.token);
    send_message(*c, DMFS_OP_PLOCK, DMFS_HF_REPLY, x.token, 0);
  }
  g.clear();
}

void Server::apply(lk::Actions& a) {
  // Grants first: a revoke in this batch may target a lock granted in it.
  for (auto& g : a.grants) send_grant(g);
  for (auto& r : a.revokes) send_revoke(r);
  a.clear();
}

void Server::send_grant(const lk::Grant& g) {
  Session* c = by_client(g.client);
  if (!c) return;
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
  uint32_t count = grant_page(*c, g, rep);
  log::debug("grant {} [{:#x},{:#x}) of file {} to client {} (lock {:#x}{}), size {} dv {:#x}{}", lk::mode_name(g.mode),
             g.start, g.end, g.file, g.client, g.handle, g.expanded ? ", expanded" : "", rep.attr.size,
             rep.attr.data_version, rep.flags & DMFS_LGF_PAGE ? fmt::format(", {} bytes of data", count) : "");
  send_message(*c, DMFS_OP_LOCK_ENQUEUE, DMFS_HF_REPLY, g.token, 0,
               {bytes_of(rep), Bytes(io_buf_.data(), rep.flags & DMFS_LGF_PAGE ? count : 0)});
}

// The page an intent enqueue asked for, into io_buf_, read with the grant's
// attributes (one step of the event loop: nothing written in between).
// Returns its length; DMFS_LGF_PAGE is set when the data goes with the grant.
uint32_t Server::grant_page(Session& c, const lk::Grant& g, dmfs_lock_enqueue_rep& rep) {
  auto it = c.page_intents.find(g.token);
  if (it == c.page_intents.end()) return 0;
  const uint64_t at = it->second;
  c.page_intents.erase(it);
  uint32_t count = 0;
  uint64_t size = 0, version = 0;
  if (store_->read(g.file, at, DMFS_PAGE_SIZE, io_buf_.data(), count, size, version) != 0 ||
      version != rep.attr.data_version)
    return 0;  // no data rather than data of another version: the client READs
  rep.flags |= DMFS_LGF_PAGE;
  return count;
}

void Server::send_revoke(const lk::Revoke& r) {
  Session* c = by_client(r.client);
  if (!c) return;
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
             lk::mode_name(r.mode), r.start, r.end, r.file, r.client, r.handle, lk::mode_name(r.conflict_mode),
             r.conflict_start, r.conflict_end);
  send_message(*c, DMFS_OP_REVOKE, DMFS_HF_CALLBACK, id, 0, {bytes_of(cb)});
}

}  // namespace dmfs
