// GLIMPSE: a file's size and mtime as of now, asked of the other clients that
// hold it under PW locks (GLIMPSE_CB) instead of revoking them, as Lustre's
// glimpse callback does. A stat of a file being written through a mapping
// then costs a round trip to the writer and back, and the writer keeps its
// lock, its cache and its writable mappings.
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <cerrno>

#include "log.hpp"
#include "server.hpp"

namespace dmfs {

using namespace wire;

namespace {

bool later(const timespec& a, uint64_t sec, uint32_t nsec) {
  return uint64_t(a.tv_sec) > sec || (uint64_t(a.tv_sec) == sec && uint32_t(a.tv_nsec) > nsec);
}

}  // namespace

void Server::op_glimpse(Session& s, const dmfs_hdr& h, const Glimpse& m) {
  const uint64_t file = m.r.file_id;
  dmfs_attr attr{};
  if (int rc = get_attr(file, attr)) return reply(s, h, rc);
  std::vector<uint64_t> holders;
  if ((attr.mode & S_IFMT) == S_IFREG && !opt_.faults.no_glimpse) {
    for (const auto& l : locks_.locks(file))
      if (l.granted && l.mode == lk::Mode::PW && l.client != s.id && by_client(l.client)) holders.push_back(l.client);
    // A holder that cannot answer would take the callback for a protocol
    // error; the requester revokes it with a PR lock instead.
    for (uint64_t c : holders)
      if (!by_client(c)->answers_glimpse) return reply(s, h, -EOPNOTSUPP);
    std::sort(holders.begin(), holders.end());
    holders.erase(std::unique(holders.begin(), holders.end()), holders.end());
  }
  uint64_t id = 0;
  auto done = glimpses_.start(s.id, h.req_id, file, holders, lk::Clock::now() + opt_.revoke_timeout, id);
  for (uint64_t c : holders) {
    Session* holder = by_client(c);
    dmfs_glimpse_cb cb{file};
    const uint64_t cb_id = holder->next_cb++;
    holder->glimpse_cbs[cb_id] = id;
    log::debug("glimpse {} of file {} for client {}: asking client {}", id, file, s.id, c);
    send_message(*holder, DMFS_OP_GLIMPSE_CB, DMFS_HF_CALLBACK, cb_id, 0, {bytes_of(cb)});
  }
  if (done) finish_glimpse(*done);
}

void Server::on_glimpse_answer(Session& s, const dmfs_hdr& h, const CallbackAnswer& ans) {
  auto it = s.glimpse_cbs.find(h.req_id);
  if (it == s.glimpse_cbs.end()) return;  // late: the glimpse finished without it
  const uint64_t id = it->second;
  s.glimpse_cbs.erase(it);
  std::optional<lk::GlimpseReport> report;
  if (ans.status == 0) report = lk::GlimpseReport{ans.glimpse.size, ans.glimpse.mod_seq};
  log::debug("client {} answered glimpse {}: status {} size {} mod_seq {}", s.id, id, ans.status, ans.glimpse.size,
             ans.glimpse.mod_seq);
  if (auto done = glimpses_.answer(id, s.id, report)) finish_glimpse(*done);
}

// The reply: the server's attributes, the largest size a holder reported,
// and for modifications the server has not been sent the server's clock at
// the first glimpse that saw them (kept until a write-back time is later).
void Server::finish_glimpse(const lk::GlimpseResult& r) {
  Session* s = by_client(r.requester);
  if (!s) return;
  dmfs_attr_rep rep{};
  if (int rc = get_attr(r.file, rep.attr)) {
    send_message(*s, DMFS_OP_GLIMPSE, DMFS_HF_REPLY, r.token, rc);
    return;
  }
  auto& a = rep.attr;
  a.size = std::max(a.size, r.size);
  if (r.modified) {
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    glimpse_mtime_[r.file] = now;
  }
  auto stamp = glimpse_mtime_.find(r.file);
  if (stamp != glimpse_mtime_.end()) {
    if (!later(stamp->second, a.mtime_sec, a.mtime_nsec)) {
      glimpse_mtime_.erase(stamp);  // a write-back since then is newer
    } else if (r.unwritten) {
      a.mtime_sec = a.ctime_sec = uint64_t(stamp->second.tv_sec);
      a.mtime_nsec = a.ctime_nsec = uint32_t(stamp->second.tv_nsec);
    }
  }
  send_message(*s, DMFS_OP_GLIMPSE, DMFS_HF_REPLY, r.token, 0, {bytes_of(rep)});
}

void Server::drop_glimpses(uint64_t client) {
  for (const auto& r : glimpses_.drop_client(client)) finish_glimpse(r);
}

}  // namespace dmfs
