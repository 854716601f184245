// C++ encoding/decoding of dmfs messages (layouts in dmfs_proto.h, rules in
// docs/protocol.md). Userspace is little-endian only, so fixed structs are
// copied as bytes; every length and value is validated before use.
#pragma once
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "dmfs_proto.h"

namespace dmfs::wire {

static_assert(std::endian::native == std::endian::little, "the userspace dmfs code assumes a little-endian host");

inline constexpr size_t kHdrSize = sizeof(dmfs_hdr);

using Bytes = std::span<const uint8_t>;

template <typename T>
Bytes bytes_of(const T& v) {
  return Bytes(reinterpret_cast<const uint8_t*>(&v), sizeof(T));
}
inline Bytes bytes_of(std::string_view s) { return Bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }

// Reads a fixed struct from the front of `b`; false if too short.
template <typename T>
bool read_fixed(Bytes b, T& out) {
  if (b.size() < sizeof(T)) return false;
  std::memcpy(&out, b.data(), sizeof(T));
  return true;
}

// The header of a message whose body is `body_len` bytes.
dmfs_hdr make_header(uint16_t op, uint16_t flags, uint64_t req_id, int32_t status, size_t body_len);

// Appends one complete message (header + parts) to `out`.
void append_message(std::vector<uint8_t>& out, uint16_t op, uint16_t flags, uint64_t req_id, int32_t status,
                    std::initializer_list<Bytes> parts = {});
std::vector<uint8_t> make_message(uint16_t op, uint16_t flags, uint64_t req_id, int32_t status,
                                  std::initializer_list<Bytes> parts = {});

// Framing check of a received header. 0, or -EMSGSIZE (length out of
// [24, DMFS_MAX_MSG]) / -EPROTO (unknown flag bits): both fatal for the
// connection.
int check_header(const dmfs_hdr& h);

// 0, -EINVAL (empty, '/', NUL, "." or "..") or -ENAMETOOLONG.
int check_name(std::string_view name);

const char* op_name(uint16_t op);

// ---- messages a server receives from a client ----
struct Empty {};
struct Hello {
  dmfs_hello_req r;
};
struct Auth {
  dmfs_auth_req r;
};
struct NameOp {
  dmfs_name_req r;
  std::string_view name;
};  // LOOKUP UNLINK RMDIR
struct Getattr {
  dmfs_fid_req r;
};
struct Setattr {
  dmfs_setattr_req r;
};
struct Create {
  dmfs_create_req r;
  std::string_view name;
};  // CREATE MKDIR
struct Rename {
  dmfs_rename_req r;
  std::string_view old_name, new_name;
};
struct Readdir {
  dmfs_readdir_req r;
};
struct Open {
  dmfs_open_req r;
};
struct Close {
  dmfs_close_req r;
};
struct Read {
  dmfs_read_req r;
};
struct Write {
  dmfs_write_req r;
  Bytes data;
};
struct Fsync {
  dmfs_fsync_req r;
};
struct Enqueue {
  dmfs_lock_enqueue_req r;
};
struct Cancel {
  dmfs_lock_cancel_req r;
};
struct Plock {
  dmfs_plock_req r;
};
struct Glimpse {
  dmfs_fid_req r;
};
// The answer to a callback: a REVOKE ack, or a GLIMPSE_CB answer whose
// `glimpse` is set when status is 0.
struct CallbackAnswer {
  int32_t status;
  uint16_t opcode = DMFS_OP_REVOKE;
  dmfs_glimpse_rep glimpse{};
};

using ClientBody = std::variant<Empty, Hello, Auth, NameOp, Getattr, Setattr, Create, Rename, Readdir, Open, Close,
                                Read, Write, Fsync, Enqueue, Cancel, CallbackAnswer, Plock, Glimpse>;

struct ClientMsg {
  dmfs_hdr hdr{};
  ClientBody body;
};

// Decodes and validates one client message whose header passed
// check_header(); `body` is exactly length-24 bytes. Returns 0, or:
//   -EPROTO      flags that a client may not send, or a malformed answer to
//                a callback (fatal: close)
//   -EOPNOTSUPP  unknown opcode (reply with it)
//   -EBADMSG     body size wrong for the opcode (reply with it)
//   -EINVAL / -ENAMETOOLONG  invalid values (reply with it)
// Views in `out` point into `body`.
int decode_client(const dmfs_hdr& hdr, Bytes body, ClientMsg& out);

// True when a range [start,end) is a valid lock extent.
bool valid_extent(uint64_t start, uint64_t end);

}  // namespace dmfs::wire
