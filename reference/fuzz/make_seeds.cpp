// Writes a seed corpus for dmfs-fuzz-decoder: one valid message of each kind
// (and a few streams of several), so the fuzzer starts deep in the decoder.
#include <cstdio>
#include <string>
#include <vector>

#include "wire.hpp"

using namespace dmfs::wire;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  std::string dir = argv[1];
  int n = 0;
  auto put = [&](const std::vector<uint8_t>& m) {
    std::string p = dir + "/seed-" + std::to_string(n++);
    FILE* f = std::fopen(p.c_str(), "wb");
    if (!f) return false;
    std::fwrite(m.data(), 1, m.size(), f);
    std::fclose(f);
    return true;
  };
  std::string_view name = "name";
  dmfs_hello_req hello{};
  hello.magic = DMFS_MAGIC;
  hello.version_min = hello.version_max = DMFS_PROTO_VERSION;
  dmfs_name_req nr{};
  nr.parent_id = 1;
  nr.namelen = 4;
  dmfs_create_req cr{};
  cr.parent_id = 1;
  cr.mode = 0644;
  cr.namelen = 4;
  dmfs_rename_req rr{};
  rr.old_namelen = 4;
  rr.new_namelen = 4;
  dmfs_setattr_req sa{};
  sa.valid = DMFS_SA_SIZE | DMFS_SA_MODE;
  dmfs_readdir_req rd{};
  rd.max_bytes = 4096;
  dmfs_open_req op{};
  op.flags = DMFS_OPEN_READ | DMFS_OPEN_EXEC;
  dmfs_read_req rq{};
  rq.length = 4096;
  dmfs_write_req wq{};
  wq.length = 4;
  dmfs_fsync_req fq{};
  dmfs_lock_enqueue_req eq{};
  eq.start = 0;
  eq.end = DMFS_EOF;
  eq.mode = DMFS_LOCK_PW;
  dmfs_lock_cancel_req cq{};
  cq.lock_handle = 1;
  dmfs_fid_req fid{1};
  dmfs_close_req cl{1};
  dmfs_auth_req au{};
  dmfs_plock_req pl{};
  pl.file_id = 1;
  pl.owner = 1;
  pl.start = 0;
  pl.end = 8;
  pl.type = DMFS_PLK_WRLCK;
  pl.flags = DMFS_PLKF_WAIT;
  dmfs_glimpse_rep glimpse{8192, 1};
  std::vector<std::vector<uint8_t>> msgs = {
      make_message(DMFS_OP_HELLO, 0, 1, 0, {bytes_of(hello)}),
      make_message(DMFS_OP_AUTH, 0, 2, 0, {bytes_of(au)}),
      make_message(DMFS_OP_PING, 0, 3, 0),
      make_message(DMFS_OP_STATFS, 0, 4, 0),
      make_message(DMFS_OP_LOOKUP, 0, 5, 0, {bytes_of(nr), bytes_of(name)}),
      make_message(DMFS_OP_GETATTR, 0, 6, 0, {bytes_of(fid)}),
      make_message(DMFS_OP_SETATTR, 0, 7, 0, {bytes_of(sa)}),
      make_message(DMFS_OP_CREATE, 0, 8, 0, {bytes_of(cr), bytes_of(name)}),
      make_message(DMFS_OP_MKDIR, 0, 9, 0, {bytes_of(cr), bytes_of(name)}),
      make_message(DMFS_OP_UNLINK, 0, 10, 0, {bytes_of(nr), bytes_of(name)}),
      make_message(DMFS_OP_RMDIR, 0, 11, 0, {bytes_of(nr), bytes_of(name)}),
      make_message(DMFS_OP_RENAME, 0, 12, 0, {bytes_of(rr), bytes_of(name), bytes_of(name)}),
      make_message(DMFS_OP_READDIR, 0, 13, 0, {bytes_of(rd)}),
      make_message(DMFS_OP_OPEN, 0, 14, 0, {bytes_of(op)}),
      make_message(DMFS_OP_CLOSE, 0, 15, 0, {bytes_of(cl)}),
      make_message(DMFS_OP_READ, 0, 16, 0, {bytes_of(rq)}),
      make_message(DMFS_OP_WRITE, 0, 17, 0, {bytes_of(wq), bytes_of(name)}),
      make_message(DMFS_OP_FSYNC, 0, 18, 0, {bytes_of(fq)}),
      make_message(DMFS_OP_LOCK_ENQUEUE, 0, 19, 0, {bytes_of(eq)}),
      make_message(DMFS_OP_LOCK_CANCEL, 0, 20, 0, {bytes_of(cq)}),
      make_message(DMFS_OP_BYE, 0, 21, 0),
      make_message(DMFS_OP_REVOKE, DMFS_HF_REPLY | DMFS_HF_CALLBACK, 1, 0),
      make_message(DMFS_OP_PLOCK, 0, 22, 0, {bytes_of(pl)}),
      make_message(DMFS_OP_GLIMPSE, 0, 23, 0, {bytes_of(fid)}),
      make_message(DMFS_OP_GLIMPSE_CB, DMFS_HF_REPLY | DMFS_HF_CALLBACK, 2, 0, {bytes_of(glimpse)}),
  };
  std::vector<uint8_t> stream;
  for (auto& m : msgs) {
    if (!put(m)) return 1;
    stream.insert(stream.end(), m.begin(), m.end());
  }
  // A lock conversation: enqueue PR, enqueue PW with its page (conflict),
  // cancel, bye.
  std::vector<uint8_t> conv;
  dmfs_lock_enqueue_req a = eq, b = eq;
  a.mode = DMFS_LOCK_PR;
  b.start = 4096;
  b.end = 8192;
  b.flags = DMFS_LKF_WITH_PAGE;  // its grant carries a page
  append_message(conv, DMFS_OP_LOCK_ENQUEUE, 0, 1, 0, {bytes_of(a)});
  append_message(conv, DMFS_OP_LOCK_ENQUEUE, 0, 2, 0, {bytes_of(b)});
  append_message(conv, DMFS_OP_LOCK_ENQUEUE, 0, 7, 0, {bytes_of(a)});
  append_message(conv, DMFS_OP_LOCK_CANCEL, 0, 1, 0, {bytes_of(cq)});
  dmfs_plock_req p2 = pl;
  p2.type = DMFS_PLK_RDLCK;
  append_message(conv, DMFS_OP_PLOCK, 0, 5, 0, {bytes_of(pl)});
  append_message(conv, DMFS_OP_PLOCK, 0, 6, 0, {bytes_of(p2)});
  append_message(conv, DMFS_OP_BYE, 0, 2, 0);
  if (!put(stream) || !put(conv)) return 1;
  return 0;
}
