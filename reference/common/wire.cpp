#include "wire.hpp"

#include <cerrno>

namespace dmfs::wire {

dmfs_hdr make_header(uint16_t op, uint16_t flags, uint64_t req_id, int32_t status, size_t body_len) {
  dmfs_hdr h{};
  h.length = static_cast<uint32_t>(kHdrSize + body_len);
  h.opcode = op;
  h.flags = flags;
  h.req_id = req_id;
  h.status = static_cast<uint32_t>(status);
  return h;
}

void append_message(std::vector<uint8_t>& out, uint16_t op, uint16_t flags, uint64_t req_id, int32_t status,
                    std::initializer_list<Bytes> parts) {
  size_t body = 0;
  for (auto p : parts) body += p.size();
  const dmfs_hdr h = make_header(op, flags, req_id, status, body);
  const size_t len = h.length;
  const size_t at = out.size();
  out.resize(at + len);
  std::memcpy(out.data() + at, &h, kHdrSize);
  size_t o = at + kHdrSize;
  for (auto p : parts) {
    if (!p.empty()) std::memcpy(out.data() + o, p.data(), p.size());
    o += p.size();
  }
}

std::vector<uint8_t> make_message(uint16_t op, uint16_t flags, uint64_t req_id, int32_t status,
                                  std::initializer_list<Bytes> parts) {
  std::vector<uint8_t> v;
  append_message(v, op, flags, req_id, status, parts);
  return v;
}

int check_header(const dmfs_hdr& h) {
  if (h.length < kHdrSize || h.length > DMFS_MAX_MSG) return -EMSGSIZE;
  if (h.flags & ~DMFS_HF_KNOWN) return -EPROTO;
  return 0;
}

int check_name(std::string_view name) {
  if (name.empty()) return -EINVAL;
  if (name.size() > DMFS_MAX_NAME) return -ENAMETOOLONG;
  if (name == "." || name == "..") return -EINVAL;
  for (char c : name)
    if (c == '/' || c == '\0') return -EINVAL;
  return 0;
}

bool valid_extent(uint64_t start, uint64_t end) {
  if (start % DMFS_PAGE_SIZE) return false;
  if (end != DMFS_EOF && end % DMFS_PAGE_SIZE) return false;
  return start < end;
}

const char* op_name(uint16_t op) {
  switch (op) {
    case DMFS_OP_HELLO: return "HELLO";
    case DMFS_OP_AUTH: return "AUTH";
    case DMFS_OP_PING: return "PING";
    case DMFS_OP_STATFS: return "STATFS";
    case DMFS_OP_LOOKUP: return "LOOKUP";
    case DMFS_OP_GETATTR: return "GETATTR";
    case DMFS_OP_SETATTR: return "SETATTR";
    case DMFS_OP_CREATE: return "CREATE";
    case DMFS_OP_MKDIR: return "MKDIR";
    case DMFS_OP_UNLINK: return "UNLINK";
    case DMFS_OP_RMDIR: return "RMDIR";
    case DMFS_OP_RENAME: return "RENAME";
    case DMFS_OP_READDIR: return "READDIR";
    case DMFS_OP_OPEN: return "OPEN";
    case DMFS_OP_CLOSE: return "CLOSE";
    case DMFS_OP_READ: return "READ";
    case DMFS_OP_WRITE: return "WRITE";
    case DMFS_OP_FSYNC: return "FSYNC";
    case DMFS_OP_LOCK_ENQUEUE: return "LOCK_ENQUEUE";
    case DMFS_OP_LOCK_CANCEL: return "LOCK_CANCEL";
    case DMFS_OP_BYE: return "BYE";
    case DMFS_OP_PLOCK: return "PLOCK";
    case DMFS_OP_GLIMPSE: return "GLIMPSE";
    case DMFS_OP_GLIMPSE_CB: return "GLIMPSE_CB";
    case DMFS_OP_REVOKE: return "REVOKE";
    case DMFS_OP_EVICTED: return "EVICTED";
    default: return "?";
  }
}

namespace {

template <typename T>
int fixed_only(Bytes body, T& out) {
  if (body.size() != sizeof(T)) return -EBADMSG;
  std::memcpy(&out, body.data(), sizeof(T));
  return 0;
}

std::string_view sv(Bytes b, size_t off, size_t n) {
  return std::string_view(reinterpret_cast<const char*>(b.data()) + off, n);
}

}  // namespace

int decode_client(const dmfs_hdr& hdr, Bytes body, ClientMsg& out) {
  out.hdr = hdr;
  if (hdr.flags == (DMFS_HF_REPLY | DMFS_HF_CALLBACK)) {
    CallbackAnswer a{static_cast<int32_t>(hdr.status), hdr.opcode};
    if (hdr.opcode == DMFS_OP_REVOKE) {
      out.body = a;
      return 0;
    }
    if (hdr.opcode != DMFS_OP_GLIMPSE_CB) return -EPROTO;
    if (a.status == 0 ? body.size() != sizeof a.glimpse : !body.empty()) return -EPROTO;
    if (a.status == 0) std::memcpy(&a.glimpse, body.data(), sizeof a.glimpse);
    out.body = a;
    return 0;
  }
  if (hdr.flags != 0) return -EPROTO;
  int rc = 0;
  switch (hdr.opcode) {
    case DMFS_OP_PING:
    case DMFS_OP_STATFS:
    case DMFS_OP_BYE:
      if (!body.empty()) return -EBADMSG;
      out.body = Empty{};
      return 0;
    case DMFS_OP_HELLO: {
      // A longer HELLO (a later minor extension) is accepted; the known
      // prefix is used.
      Hello m{};
      if (body.size() < sizeof m.r) return -EBADMSG;
      std::memcpy(&m.r, body.data(), sizeof m.r);
      out.body = m;
      return 0;
    }
    case DMFS_OP_AUTH: {
      Auth m{};
      if ((rc = fixed_only(body, m.r))) return rc;
      out.body = m;
      return 0;
    }
    case DMFS_OP_LOOKUP:
    case DMFS_OP_UNLINK:
    case DMFS_OP_RMDIR: {
      NameOp m{};
      if (!read_fixed(body, m.r)) return -EBADMSG;
      if (body.size() != sizeof m.r + m.r.namelen) return -EBADMSG;
      m.name = sv(body, sizeof m.r, m.r.namelen);
      if ((rc = check_name(m.name))) return rc;
      out.body = m;
      return 0;
    }
    case DMFS_OP_GETATTR: {
      Getattr m{};
      if ((rc = fixed_only(body, m.r))) return rc;
      out.body = m;
      return 0;
    }
    case DMFS_OP_GLIMPSE: {
      Glimpse m{};
      if ((rc = fixed_only(body, m.r))) return rc;
      out.body = m;
      return 0;
    }
    case DMFS_OP_SETATTR: {
      Setattr m{};
      if ((rc = fixed_only(body, m.r))) return rc;
      constexpr uint32_t known = DMFS_SA_MODE | DMFS_SA_UID | DMFS_SA_GID | DMFS_SA_SIZE | DMFS_SA_ATIME |
                                 DMFS_SA_MTIME | DMFS_SA_ATIME_NOW | DMFS_SA_MTIME_NOW;
      if (m.r.valid & ~known) return -EINVAL;
      if ((m.r.valid & DMFS_SA_ATIME) && (m.r.valid & DMFS_SA_ATIME_NOW)) return -EINVAL;
      if ((m.r.valid & DMFS_SA_MTIME) && (m.r.valid & DMFS_SA_MTIME_NOW)) return -EINVAL;
      if ((m.r.valid & DMFS_SA_ATIME) && m.r.atime_nsec >= 1000000000u) return -EINVAL;
      if ((m.r.valid & DMFS_SA_MTIME) && m.r.mtime_nsec >= 1000000000u) return -EINVAL;
      if ((m.r.valid & DMFS_SA_SIZE) && m.r.size > uint64_t(INT64_MAX)) return -EINVAL;
      out.body = m;
      return 0;
    }
    case DMFS_OP_CREATE:
    case DMFS_OP_MKDIR: {
      Create m{};
      if (!read_fixed(body, m.r)) return -EBADMSG;
      if (body.size() != sizeof m.r + m.r.namelen) return -EBADMSG;
      m.name = sv(body, sizeof m.r, m.r.namelen);
      if ((rc = check_name(m.name))) return rc;
      if (m.r.flags & ~DMFS_CREATE_EXCL) return -EINVAL;
      if (m.r.mode & ~07777u) return -EINVAL;
      out.body = m;
      return 0;
    }
    case DMFS_OP_RENAME: {
      Rename m{};
      if (!read_fixed(body, m.r)) return -EBADMSG;
      if (body.size() != sizeof m.r + size_t(m.r.old_namelen) + m.r.new_namelen) return -EBADMSG;
      m.old_name = sv(body, sizeof m.r, m.r.old_namelen);
      m.new_name = sv(body, sizeof m.r + m.r.old_namelen, m.r.new_namelen);
      if ((rc = check_name(m.old_name))) return rc;
      if ((rc = check_name(m.new_name))) return rc;
      if (m.r.flags & ~DMFS_RENAME_NOREPLACE) return -EINVAL;
      out.body = m;
      return 0;
    }
    case DMFS_OP_READDIR: {
      Readdir m{};
      if ((rc = fixed_only(body, m.r))) return rc;
      out.body = m;
      return 0;
    }
    case DMFS_OP_OPEN: {
      Open m{};
      if ((rc = fixed_only(body, m.r))) return rc;
      constexpr uint32_t known = DMFS_OPEN_READ | DMFS_OPEN_WRITE | DMFS_OPEN_EXEC | DMFS_OPEN_TRUNC;
      if (m.r.flags & ~known) return -EINVAL;
      if ((m.r.flags & DMFS_OPEN_TRUNC) && !(m.r.flags & DMFS_OPEN_WRITE)) return -EINVAL;
      out.body = m;
      return 0;
    }
    case DMFS_OP_CLOSE: {
      Close m{};
      if ((rc = fixed_only(body, m.r))) return rc;
      out.body = m;
      return 0;
    }
    case DMFS_OP_READ: {
      Read m{};
      if ((rc = fixed_only(body, m.r))) return rc;
      if (m.r.offset % DMFS_PAGE_SIZE || m.r.length % DMFS_PAGE_SIZE || m.r.length == 0 || m.r.length > DMFS_MAX_IO ||
          m.r.offset > uint64_t(INT64_MAX) - DMFS_MAX_IO)
        return -EINVAL;
      out.body = m;
      return 0;
    }
    case DMFS_OP_WRITE: {
      Write m{};
      if (!read_fixed(body, m.r)) return -EBADMSG;
      if (body.size() != sizeof m.r + size_t(m.r.length)) return -EBADMSG;
      if (m.r.offset % DMFS_PAGE_SIZE || m.r.length == 0 || m.r.length > DMFS_MAX_IO ||
          m.r.offset > uint64_t(INT64_MAX) - DMFS_MAX_IO)
        return -EINVAL;
      if (m.r.flags & ~DMFS_WRITE_SYNC) return -EINVAL;
      m.data = body.subspan(sizeof m.r);
      out.body = m;
      return 0;
    }
    case DMFS_OP_FSYNC: {
      Fsync m{};
      if ((rc = fixed_only(body, m.r))) return rc;
      if (m.r.flags & ~DMFS_FSYNC_DATASYNC) return -EINVAL;
      out.body = m;
      return 0;
    }
    case DMFS_OP_LOCK_ENQUEUE: {
      Enqueue m{};
      if ((rc = fixed_only(body, m.r))) return rc;
      if (m.r.mode != DMFS_LOCK_PR && m.r.mode != DMFS_LOCK_PW) return -EINVAL;
      if (!valid_extent(m.r.start, m.r.end)) return -EINVAL;
      if (m.r.flags & ~(DMFS_LKF_NOEXPAND | DMFS_LKF_NOWAIT | DMFS_LKF_WITH_PAGE)) return -EINVAL;
      out.body = m;
      return 0;
    }
    case DMFS_OP_LOCK_CANCEL: {
      Cancel m{};
      if ((rc = fixed_only(body, m.r))) return rc;
      if (m.r.flags & ~DMFS_LCF_BY_REQID) return -EINVAL;
      out.body = m;
      return 0;
    }
    case DMFS_OP_PLOCK: {
      Plock m{};
      if ((rc = fixed_only(body, m.r))) return rc;
      if (m.r.type > DMFS_PLK_WRLCK) return -EINVAL;
      if (m.r.flags & ~(DMFS_PLKF_WAIT | DMFS_PLKF_TEST | DMFS_PLKF_FLOCK)) return -EINVAL;
      if ((m.r.flags & DMFS_PLKF_TEST) && m.r.type == DMFS_PLK_UNLCK) return -EINVAL;
      if (!(m.r.flags & DMFS_PLKF_FLOCK) && m.r.start >= m.r.end) return -EINVAL;
      out.body = m;
      return 0;
    }
    default: return -EOPNOTSUPP;
  }
}

}  // namespace dmfs::wire
