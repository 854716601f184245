// libFuzzer target over the server's message decoder: the input is a byte
// stream as a client might send it. Each frame goes through the framing
// check and decode_client(); decoded lock requests are fed to a lock manager
// (the next unit a hostile message reaches in dmfsd). Built with clang
// -fsanitize=fuzzer,address,undefined; any crash, sanitizer report or leak
// fails the run.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "lock_manager.hpp"
#include "plock_manager.hpp"
#include "wire.hpp"

using namespace dmfs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lk::LockManager lm;
  lk::PLockManager pm;
  std::vector<lk::PGrant> pg;
  lk::Actions acts;
  const auto now = lk::Clock::now();
  size_t off = 0;
  int frames = 0;
  while (size - off >= wire::kHdrSize && frames++ < 256) {
    dmfs_hdr h;
    std::memcpy(&h, data + off, sizeof h);
    if (wire::check_header(h) != 0) break;  // dmfsd closes the connection here
    // A frame longer than the input is a message still arriving: stop.
    if (h.length > size - off) break;
    wire::Bytes body(data + off + wire::kHdrSize, h.length - wire::kHdrSize);
    wire::ClientMsg m;
    int rc = wire::decode_client(h, body, m);
    if (rc == 0) {
      const uint64_t client = 1 + (h.req_id & 3);
      if (auto* e = std::get_if<wire::Enqueue>(&m.body)) {
        // Decoded values are valid by contract: check that they are.
        if (!wire::valid_extent(e->r.start, e->r.end)) __builtin_trap();
        lm.enqueue(client, e->r.file_id & 7, e->r.start, e->r.end, lk::Mode(e->r.mode), e->r.flags, h.req_id, now,
                   acts);
      } else if (auto* c = std::get_if<wire::Cancel>(&m.body)) {
        if (c->r.flags & DMFS_LCF_BY_REQID) {
          lm.withdraw(client, c->r.lock_handle, now, acts);
          pm.withdraw(client, c->r.lock_handle, pg);
          pg.clear();
        } else {
          lm.cancel(client, c->r.lock_handle, now, acts);
        }
      } else if (auto* p = std::get_if<wire::Plock>(&m.body)) {
        const bool fl = p->r.flags & DMFS_PLKF_FLOCK;
        if (p->r.flags & DMFS_PLKF_TEST)
          (void)pm.test(client, p->r.owner & 3, p->r.file_id & 7, fl, p->r.start, p->r.end, lk::PType(p->r.type));
        else
          pm.request(client, p->r.owner & 3, p->r.file_id & 7, fl, p->r.start, p->r.end, lk::PType(p->r.type), p->r.pid,
                     p->r.flags & DMFS_PLKF_WAIT, h.req_id, pg);
        pg.clear();
      } else if (h.opcode == DMFS_OP_BYE) {
        lm.drop_client(client, now, acts);
        pm.drop_client(client, pg);
        pg.clear();
      } else if (auto* n = std::get_if<wire::NameOp>(&m.body)) {
        if (wire::check_name(n->name) != 0) __builtin_trap();
      } else if (auto* w = std::get_if<wire::Write>(&m.body)) {
        if (w->data.size() != w->r.length || w->data.size() > DMFS_MAX_IO) __builtin_trap();
      }
      // Grants and revokes refer only to locks the manager knows.
      for (auto& g : acts.grants)
        if (g.start > g.end || !lm.is_granted(g.handle)) __builtin_trap();
      acts.clear();
    }
    off += h.length;
  }
  return 0;
}
