// Unit tests of the protocol header, the codec and the auth construction.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

#include "dmfs_proto.h"
#include "siphash.hpp"
#include "wire.hpp"

using namespace dmfs;
using namespace dmfs::wire;

namespace {

std::vector<uint8_t> body_of(const std::vector<uint8_t>& msg) {
  return std::vector<uint8_t>(msg.begin() + kHdrSize, msg.end());
}

int decode(const std::vector<uint8_t>& msg, ClientMsg& out) {
  dmfs_hdr h{};
  std::memcpy(&h, msg.data(), kHdrSize);
  int rc = check_header(h);
  if (rc) return rc;
  EXPECT_EQ(h.length, msg.size());
  auto b = body_of(msg);
  static std::vector<uint8_t> keep;
  keep = b;
  return decode_client(h, Bytes(keep.data(), keep.size()), out);
}

TEST(Proto, HeaderLayoutIsLittleEndianAndFixed) {
  auto m = make_message(DMFS_OP_GETATTR, 0, 0x0102030405060708ull, -ENOENT);
  ASSERT_EQ(m.size(), 24u);
  const uint8_t want[24] = {24, 0, 0, 0, DMFS_OP_GETATTR, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1, 0xfe, 0xff, 0xff, 0xff,
                            0,  0, 0, 0};
  EXPECT_EQ(0, std::memcmp(m.data(), want, 24));
  static_assert(offsetof(dmfs_hdr, req_id) == 8);
  static_assert(offsetof(dmfs_attr, mode) == 68);
  static_assert(offsetof(dmfs_lock_enqueue_rep, attr) == 32);
}

TEST(Proto, HeaderChecks) {
  dmfs_hdr h{};
  h.length = 23;
  EXPECT_EQ(check_header(h), -EMSGSIZE);
  h.length = DMFS_MAX_MSG + 1;
  EXPECT_EQ(check_header(h), -EMSGSIZE);
  h.length = 24;
  h.flags = 0x8;
  EXPECT_EQ(check_header(h), -EPROTO);
  h.flags = DMFS_HF_REPLY;
  EXPECT_EQ(check_header(h), 0);
}

TEST(Proto, NameValidation) {
  EXPECT_EQ(check_name("a"), 0);
  EXPECT_EQ(check_name(""), -EINVAL);
  EXPECT_EQ(check_name("."), -EINVAL);
  EXPECT_EQ(check_name(".."), -EINVAL);
  EXPECT_EQ(check_name("a/b"), -EINVAL);
  EXPECT_EQ(check_name(std::string_view("a\0b", 3)), -EINVAL);
  EXPECT_EQ(check_name(std::string(255, 'x')), 0);
  EXPECT_EQ(check_name(std::string(256, 'x')), -ENAMETOOLONG);
}

TEST(Proto, LookupRoundTrip) {
  dmfs_name_req r{};
  r.parent_id = 77;
  r.namelen = 5;
  auto m = make_message(DMFS_OP_LOOKUP, 0, 9, 0, {bytes_of(r), bytes_of(std::string_view("hello"))});
  ClientMsg out;
  ASSERT_EQ(decode(m, out), 0);
  auto* n = std::get_if<NameOp>(&out.body);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->r.parent_id, 77u);
  EXPECT_EQ(n->name, "hello");
  EXPECT_EQ(out.hdr.req_id, 9u);
}

TEST(Proto, NameLengthMismatchIsBadMessage) {
  dmfs_name_req r{};
  r.namelen = 9;  // but only 5 bytes follow
  auto m = make_message(DMFS_OP_LOOKUP, 0, 1, 0, {bytes_of(r), bytes_of(std::string_view("hello"))});
  ClientMsg out;
  EXPECT_EQ(decode(m, out), -EBADMSG);
}

TEST(Proto, RenameTwoNames) {
  dmfs_rename_req r{};
  r.old_parent_id = 1;
  r.new_parent_id = 2;
  r.old_namelen = 3;
  r.new_namelen = 4;
  auto m = make_message(DMFS_OP_RENAME, 0, 1, 0, {bytes_of(r), bytes_of(std::string_view("abcdefg"))});
  ClientMsg out;
  ASSERT_EQ(decode(m, out), 0);
  auto* n = std::get_if<Rename>(&out.body);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->old_name, "abc");
  EXPECT_EQ(n->new_name, "defg");
}

TEST(Proto, ReadWriteAlignment) {
  ClientMsg out;
  dmfs_read_req r{};
  r.file_id = 1;
  r.offset = 4096;
  r.length = 8192;
  EXPECT_EQ(decode(make_message(DMFS_OP_READ, 0, 1, 0, {bytes_of(r)}), out), 0);
  r.offset = 100;
  EXPECT_EQ(decode(make_message(DMFS_OP_READ, 0, 1, 0, {bytes_of(r)}), out), -EINVAL);
  r.offset = 0;
  r.length = 100;
  EXPECT_EQ(decode(make_message(DMFS_OP_READ, 0, 1, 0, {bytes_of(r)}), out), -EINVAL);
  r.length = DMFS_MAX_IO + DMFS_PAGE_SIZE;
  EXPECT_EQ(decode(make_message(DMFS_OP_READ, 0, 1, 0, {bytes_of(r)}), out), -EINVAL);

  dmfs_write_req w{};
  w.file_id = 1;
  w.offset = 8192;
  w.length = 10;
  std::string data(10, 'z');
  ASSERT_EQ(decode(make_message(DMFS_OP_WRITE, 0, 1, 0, {bytes_of(w), bytes_of(std::string_view(data))}), out), 0);
  auto* wr = std::get_if<Write>(&out.body);
  ASSERT_NE(wr, nullptr);
  EXPECT_EQ(wr->data.size(), 10u);
  w.length = 11;  // body shorter than announced
  EXPECT_EQ(decode(make_message(DMFS_OP_WRITE, 0, 1, 0, {bytes_of(w), bytes_of(std::string_view(data))}), out),
            -EBADMSG);
  w.length = 10;
  w.offset = 1;
  EXPECT_EQ(decode(make_message(DMFS_OP_WRITE, 0, 1, 0, {bytes_of(w), bytes_of(std::string_view(data))}), out),
            -EINVAL);
}

TEST(Proto, EnqueueValidation) {
  ClientMsg out;
  dmfs_lock_enqueue_req r{};
  r.file_id = 3;
  r.start = 0;
  r.end = DMFS_EOF;
  r.mode = DMFS_LOCK_PW;
  EXPECT_EQ(decode(make_message(DMFS_OP_LOCK_ENQUEUE, 0, 1, 0, {bytes_of(r)}), out), 0);
  r.mode = 3;
  EXPECT_EQ(decode(make_message(DMFS_OP_LOCK_ENQUEUE, 0, 1, 0, {bytes_of(r)}), out), -EINVAL);
  r.mode = DMFS_LOCK_PR;
  r.start = 4096;
  r.end = 4096;
  EXPECT_EQ(decode(make_message(DMFS_OP_LOCK_ENQUEUE, 0, 1, 0, {bytes_of(r)}), out), -EINVAL);
  r.end = 5000;
  EXPECT_EQ(decode(make_message(DMFS_OP_LOCK_ENQUEUE, 0, 1, 0, {bytes_of(r)}), out), -EINVAL);
  r.end = 8192;
  r.flags = 0x80;
  EXPECT_EQ(decode(make_message(DMFS_OP_LOCK_ENQUEUE, 0, 1, 0, {bytes_of(r)}), out), -EINVAL);
  // Wrong size for the opcode.
  EXPECT_EQ(decode(make_message(DMFS_OP_LOCK_ENQUEUE, 0, 1, 0, {bytes_of(r.file_id)}), out), -EBADMSG);
}

TEST(Proto, UnknownOpcodeAndFlags) {
  ClientMsg out;
  EXPECT_EQ(decode(make_message(999, 0, 1, 0), out), -EOPNOTSUPP);
  EXPECT_EQ(decode(make_message(DMFS_OP_PING, DMFS_HF_REPLY, 1, 0), out), -EPROTO);
  EXPECT_EQ(decode(make_message(DMFS_OP_PING, DMFS_HF_CALLBACK | DMFS_HF_REPLY, 1, 0), out), -EPROTO);
  ASSERT_EQ(decode(make_message(DMFS_OP_REVOKE, DMFS_HF_CALLBACK | DMFS_HF_REPLY, 1, -ENOLCK), out), 0);
  auto* cb = std::get_if<CallbackAnswer>(&out.body);
  ASSERT_NE(cb, nullptr);
  EXPECT_EQ(cb->status, -ENOLCK);
  EXPECT_EQ(decode(make_message(DMFS_OP_PING, 0, 1, 0, {bytes_of(uint32_t{0})}), out), -EBADMSG);
}

TEST(Proto, DirentReclen) {
  EXPECT_EQ(DMFS_DIRENT_RECLEN(1), 32u);
  EXPECT_EQ(DMFS_DIRENT_RECLEN(8), 32u);
  EXPECT_EQ(DMFS_DIRENT_RECLEN(9), 40u);
}

TEST(SipHash, ReferenceVectors) {
  // From the SipHash paper / reference implementation: key 00..0f.
  const uint64_t k0 = 0x0706050403020100ull, k1 = 0x0f0e0d0c0b0a0908ull;
  uint8_t msg[64];
  for (int i = 0; i < 64; ++i) msg[i] = uint8_t(i);
  EXPECT_EQ(siphash24(k0, k1, msg, 0), 0x726fdb47dd0e0e31ull);
  EXPECT_EQ(siphash24(k0, k1, msg, 15), 0xa129ca6149be45e5ull);
}

// The value printed here is the appendix of docs/protocol.md.
TEST(SipHash, AuthTestVector) {
  uint8_t cn[16], sn[16];
  for (int i = 0; i < 16; ++i) {
    cn[i] = uint8_t(i);
    sn[i] = uint8_t(16 + i);
  }
  AuthKey k = derive_auth_key("sesame\n");
  AuthKey k2 = derive_auth_key("sesame");
  EXPECT_EQ(k.k0, k2.k0);
  EXPECT_EQ(k.k1, k2.k1);
  uint64_t cp = client_proof(k, cn, sn), sp = server_proof(k, cn, sn);
  std::printf("K0=%016llx K1=%016llx client_proof=%016llx server_proof=%016llx\n", (unsigned long long)k.k0,
              (unsigned long long)k.k1, (unsigned long long)cp, (unsigned long long)sp);
  EXPECT_EQ(k.k0, 0x8f1128301ed3ffdaull);
  EXPECT_EQ(k.k1, 0x489eb45e62db49d2ull);
  EXPECT_EQ(cp, 0x09fac247cb84daffull);
  EXPECT_EQ(sp, 0xd9b4c6ce3756b57full);
  EXPECT_NE(client_proof(derive_auth_key("sesamf"), cn, sn), cp);
  EXPECT_TRUE(proof_equal(cp, cp));
  EXPECT_FALSE(proof_equal(cp, sp));
}

}  // namespace
