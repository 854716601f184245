// The request handlers of namespace and file operations: one per opcode
// (CREATE/MKDIR and UNLINK/RMDIR share one), each answering with reply().
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "log.hpp"
#include "server.hpp"

namespace dmfs {

using namespace wire;

namespace {
constexpr size_t kMaxOpensPerSession = 65536;

// READDIR's variable part: one dmfs_dirent + name per entry, padded.
std::vector<uint8_t> dirent_records(const std::vector<DirEntry>& ents, uint64_t first) {
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
  return recs;
}
}  // namespace

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

void Server::forget_open(const OpenRec& o) {
  auto& c = open_counts_[o.file];
  if (o.flags & DMFS_OPEN_EXEC) --c.exec;
  if (o.flags & (DMFS_OPEN_WRITE | DMFS_OPEN_TRUNC)) --c.write;
  if (!c.exec && !c.write) open_counts_.erase(o.file);
  store_->unpin(o.file);
}

void Server::op_statfs(Session& s, const dmfs_hdr& h) {
  dmfs_statfs_rep rep{};
  int rc = store_->statfs(rep);
  reply(s, h, rc, {bytes_of(rep)});
}

void Server::op_lookup(Session& s, const dmfs_hdr& h, const NameOp& r) {
  dmfs_attr_rep rep{};
  int rc = store_->lookup(r.r.parent_id, r.name, rep.attr);
  if (!rc) rep.attr.flags = attr_flags(rep.attr.file_id);
  reply(s, h, rc, {bytes_of(rep)});
}

void Server::op_getattr(Session& s, const dmfs_hdr& h, const Getattr& r) {
  dmfs_attr_rep rep{};
  int rc = get_attr(r.r.file_id, rep.attr);
  reply(s, h, rc, {bytes_of(rep)});
}

void Server::op_setattr(Session& s, const dmfs_hdr& h, const Setattr& m) {
  const auto& r = m.r;
  if ((r.valid & DMFS_SA_SIZE) && !opt_.faults.no_etxtbsy && (attr_flags(r.file_id) & DMFS_AF_EXEC_BUSY)) {
    log::info("client {}: truncate of file {} refused: ETXTBSY (running binary)", s.id, r.file_id);
    reply(s, h, -ETXTBSY);
    return;
  }
  dmfs_attr_rep rep{};
  int rc = store_->setattr(r, rep.attr);
  if (!rc) rep.attr.flags = attr_flags(r.file_id);
  reply(s, h, rc, {bytes_of(rep)});
}

void Server::op_create(Session& s, const dmfs_hdr& h, const Create& r) {
  dmfs_attr_rep rep{};
  int rc = store_->create(r.r.parent_id, r.name, r.r.mode, r.r.uid, r.r.gid, r.r.flags & DMFS_CREATE_EXCL,
                          h.opcode == DMFS_OP_MKDIR, rep.attr);
  if (!rc) rep.attr.flags = attr_flags(rep.attr.file_id);
  reply(s, h, rc, {bytes_of(rep)});
}

void Server::op_unlink(Session& s, const dmfs_hdr& h, const NameOp& r) {
  reply(s, h, store_->unlink(r.r.parent_id, r.name, h.opcode == DMFS_OP_RMDIR));
}

void Server::op_rename(Session& s, const dmfs_hdr& h, const Rename& r) {
  reply(
      s, h,
      store_->rename(r.r.old_parent_id, r.old_name, r.r.new_parent_id, r.new_name, r.r.flags & DMFS_RENAME_NOREPLACE));
}

void Server::op_readdir(Session& s, const dmfs_hdr& h, const Readdir& m) {
  const auto& r = m.r;
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
  std::vector<uint8_t> recs = dirent_records(ents, first);
  dmfs_readdir_rep rep{};
  rep.count = uint32_t(ents.size());
  rep.flags = eof ? DMFS_READDIR_EOF : 0;
  reply(s, h, 0, {bytes_of(rep), Bytes(recs.data(), recs.size())});
}

void Server::op_open(Session& s, const dmfs_hdr& h, const Open& m) {
  const auto& r = m.r;
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
}

void Server::op_close(Session& s, const dmfs_hdr& h, const Close& m) {
  auto it = s.opens.find(m.r.open_handle);
  if (it == s.opens.end()) {
    reply(s, h, -EBADF);
    return;
  }
  forget_open(it->second);
  s.opens.erase(it);
  reply(s, h, 0);
}

void Server::op_read(Session& s, const dmfs_hdr& h, const Read& m) {
  const auto& r = m.r;
  dmfs_read_rep rep{};
  uint32_t count = 0;
  int rc = store_->read(r.file_id, r.offset, r.length, io_buf_.data(), count, rep.size, rep.data_version);
  rep.count = count;
  reply(s, h, rc, {bytes_of(rep), Bytes(io_buf_.data(), rc ? 0 : count)});
}

void Server::op_write(Session& s, const dmfs_hdr& h, const Write& w) {
  const auto now = lk::Clock::now();  // the lock is prolonged from the request's arrival
  dmfs_write_rep rep{};
  if (opt_.faults.no_writeback && locks_.revoking(s.id, w.r.file_id)) {
    // Fault: write-back of a revoked lock is acknowledged and dropped
    // (effective even with a client that ignores DMFS_RVF_DISCARD).
    dmfs_attr a{};
    int rc = get_attr(w.r.file_id, a);
    rep.size = a.size;
    rep.data_version = a.data_version;
    log::debug("fault no-writeback: dropped {} bytes at {:#x} of file {} from client {}", w.r.length, w.r.offset,
               w.r.file_id, s.id);
    reply(s, h, rc, {bytes_of(rep)});
    return;
  }
  int rc = store_->write(w.r.file_id, w.r.offset, w.data.data(), w.r.length, w.r.flags & DMFS_WRITE_SYNC, rep.size,
                         rep.data_version);
  if (rc == -ENOSPC && opt_.faults.ack_enospc) {
    // Fault: the refused write is acknowledged with the file's attributes
    // as they are, as a write-behind server that later finds no space would.
    dmfs_attr a{};
    rc = get_attr(w.r.file_id, a);
    rep.size = a.size;
    rep.data_version = a.data_version;
    log::debug("fault ack-enospc: no space for {} bytes at {:#x} of file {} from client {}: acknowledged, dropped",
               w.r.length, w.r.offset, w.r.file_id, s.id);
  }
  locks_.prolong(s.id, w.r.file_id, now);
  reply(s, h, rc, {bytes_of(rep)});
}

void Server::op_fsync(Session& s, const dmfs_hdr& h, const Fsync& m) {
  const auto& r = m.r;
  const auto now = lk::Clock::now();
  int rc = store_->fsync(r.file_id, r.flags & DMFS_FSYNC_DATASYNC);
  locks_.prolong(s.id, r.file_id, now);
  reply(s, h, rc);
}

}  // namespace dmfs
