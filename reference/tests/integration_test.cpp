// Integration tests: the real dmfsd on loopback, several clients.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <dirent.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

#include "client.hpp"
#include "dmfsd_fixture.hpp"

using namespace dmfs;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using test::Dmfsd;
constexpr uint64_t P = DMFS_PAGE_SIZE;

// Bytes that differ from page to page, so that misplaced data shows.
std::string patterned(size_t len) {
  std::string s(len, '\0');
  for (size_t i = 0; i < len; ++i) s[i] = char((i * 7 + i / 4096) % 251);
  return s;
}

TEST_F(Dmfsd, HandshakeAndNamespace) {
  start();
  auto c = connect();
  EXPECT_EQ(c->hello().version, DMFS_PROTO_VERSION);
  EXPECT_NE(c->client_id(), 0u);
  EXPECT_EQ(c->ping(), 0);
  dmfs_statfs_rep sf{};
  EXPECT_EQ(c->statfs(sf), 0);
  EXPECT_GT(sf.blocks, 0u);
  dmfs_attr d{}, f{}, l{};
  ASSERT_EQ(c->mkdir(c->root(), "dir", 0755, d), 0);
  EXPECT_EQ(d.mode & S_IFMT, unsigned(S_IFDIR));
  EXPECT_EQ(c->mkdir(c->root(), "dir", 0755, d), -EEXIST);
  ASSERT_EQ(c->create(d.file_id, "file", 0640, f), 0);
  EXPECT_EQ(f.mode, unsigned(S_IFREG | 0640));
  EXPECT_EQ(c->create(d.file_id, "file", 0640, f, true), -EEXIST);
  ASSERT_EQ(c->lookup(d.file_id, "file", l), 0);
  EXPECT_EQ(l.file_id, f.file_id);
  EXPECT_EQ(c->lookup(d.file_id, "nope", l), -ENOENT);
  EXPECT_EQ(c->lookup(c->root(), ".dmfsd", l), -ENOENT);  // server state is hidden
  // Many entries, small pages of READDIR.
  for (int i = 0; i < 40; ++i) {
    dmfs_attr x{};
    ASSERT_EQ(c->create(d.file_id, "f" + std::to_string(i), 0644, x), 0);
  }
  std::vector<DirEntryInfo> ents;
  ASSERT_EQ(c->readdir(d.file_id, ents, 200), 0);
  EXPECT_EQ(ents.size(), 41u);
  std::vector<DirEntryInfo> rootents;
  ASSERT_EQ(c->readdir(c->root(), rootents), 0);
  ASSERT_EQ(rootents.size(), 1u);
  EXPECT_EQ(rootents[0].name, "dir");
  EXPECT_EQ(rootents[0].type, DT_DIR);
  // Rename keeps the file id; the old name is gone.
  ASSERT_EQ(c->rename(d.file_id, "file", c->root(), "moved"), 0);
  ASSERT_EQ(c->lookup(c->root(), "moved", l), 0);
  EXPECT_EQ(l.file_id, f.file_id);
  EXPECT_EQ(c->getattr(f.file_id, l), 0);
  EXPECT_EQ(c->rename(d.file_id, "f1", c->root(), "moved", DMFS_RENAME_NOREPLACE), -EEXIST);
  // Set attributes.
  dmfs_setattr_req sa{};
  sa.file_id = f.file_id;
  sa.valid = DMFS_SA_MODE | DMFS_SA_MTIME | DMFS_SA_SIZE;
  sa.mode = 0600;
  sa.mtime_sec = 1000000;
  sa.size = 10000;
  ASSERT_EQ(c->setattr(sa, &l), 0);
  EXPECT_EQ(l.mode & 07777, 0600u);
  EXPECT_EQ(l.mtime_sec, 1000000u);
  EXPECT_EQ(l.size, 10000u);
  // Unlink / rmdir errors.
  EXPECT_EQ(c->rmdir(c->root(), "dir"), -ENOTEMPTY);
  EXPECT_EQ(c->unlink(c->root(), "dir"), -EISDIR);
  EXPECT_EQ(c->rmdir(c->root(), "moved"), -ENOTDIR);
  EXPECT_EQ(c->unlink(c->root(), "moved"), 0);
  EXPECT_EQ(c->getattr(f.file_id, l), -ESTALE);
  EXPECT_EQ(c->unlink(c->root(), ".dmfsd"), -EPERM);
}

TEST_F(Dmfsd, ReadWriteAndDataVersion) {
  start();
  auto c = connect();
  uint64_t id = make_file(*c, "data");
  std::string big(3 * P + 100, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = char('a' + i % 26);
  dmfs_write_rep w1{}, w2{};
  ASSERT_EQ(c->write(id, 0, big, &w1), 0);
  EXPECT_EQ(w1.size, big.size());
  std::string got;
  dmfs_read_rep rr{};
  ASSERT_EQ(c->read(id, 0, 4 * P, got, &rr), 0);
  EXPECT_EQ(got, big);  // short read at EOF
  EXPECT_EQ(rr.data_version, w1.data_version);
  ASSERT_EQ(c->write(id, P, "Z", &w2), 0);
  EXPECT_NE(w2.data_version, w1.data_version);
  EXPECT_EQ(w2.size, big.size());  // never shrinks
  EXPECT_EQ(c->read(id, 1, P, got), -EINVAL);
  EXPECT_EQ(c->write(id, 3, "x"), -EINVAL);
  EXPECT_EQ(c->fsync(id), 0);
  EXPECT_EQ(c->truncate(id, 5), 0);
  dmfs_attr a{};
  ASSERT_EQ(c->getattr(id, a), 0);
  EXPECT_EQ(a.size, 5u);
  EXPECT_NE(a.data_version, w2.data_version);
  // Writes up to the maximum size in one message.
  std::string max(DMFS_MAX_IO, 'm');
  ASSERT_EQ(c->write(id, 0, max), 0);
  ASSERT_EQ(c->read(id, 0, DMFS_MAX_IO, got), 0);
  EXPECT_EQ(got, max);
}

TEST_F(Dmfsd, RevokeAndGrantRoundTrip) {
  start();
  auto a = connect("A"), b = connect("B");
  uint64_t id = make_file(*a, "f");
  dmfs_lock_enqueue_rep la{}, lb{};
  ASSERT_EQ(a->lock(id, 0, P, DMFS_LOCK_PW, 0, la), 0);
  EXPECT_EQ(la.start, 0u);
  EXPECT_EQ(la.end, DMFS_EOF);  // expanded: nobody else
  EXPECT_TRUE(la.flags & DMFS_LGF_EXPANDED);
  // B asks for PR; A (default handler) acks and cancels; then B is granted.
  ASSERT_EQ(b->lock(id, 0, P, DMFS_LOCK_PR, 0, lb), 0);
  EXPECT_EQ(a->revokes_received(), 1u);
  EXPECT_EQ(lb.mode, DMFS_LOCK_PR);
  // The old handle is gone.
  EXPECT_EQ(a->cancel(la.lock_handle), -ENOLCK);
  // A second reader shares.
  dmfs_lock_enqueue_rep la2{};
  ASSERT_EQ(a->lock(id, 0, P, DMFS_LOCK_PR, 0, la2), 0);
  EXPECT_EQ(b->revokes_received(), 0u);
  // NOWAIT on a conflict does not revoke.
  dmfs_lock_enqueue_rep x{};
  EXPECT_EQ(a->lock(id, 0, P, DMFS_LOCK_PW, DMFS_LKF_NOWAIT, x), -EAGAIN);
  EXPECT_EQ(b->revokes_received(), 0u);
}

// A holds PW and has "dirty" data only it knows; B's PR enqueue makes the
// server revoke A, A writes back (WRITEs on its connection while B waits),
// cancels, and B's grant and read show A's data.
TEST_F(Dmfsd, DataHandedOffOnRevoke) {
  start();
  auto a = connect("A"), b = connect("B");
  uint64_t id = make_file(*a, "f", std::string(2 * P, '0'));
  dmfs_lock_enqueue_rep la{};
  ASSERT_EQ(a->lock(id, 0, P, DMFS_LOCK_PW, 0, la), 0);
  const uint64_t dv_before = la.attr.data_version;
  std::string dirty0(P, 'A'), dirty1(P, 'B');
  std::atomic<int> handled{0};
  a->set_revoke_handler([&](Client& c, uint64_t cb, const dmfs_revoke_cb& r) {
    c.ack_revoke(cb);
    EXPECT_EQ(r.lock_handle, la.lock_handle);
    EXPECT_EQ(r.flags & DMFS_RVF_DISCARD, 0u);
    std::this_thread::sleep_for(50ms);  // the waiter must not be granted meanwhile
    EXPECT_EQ(c.write(r.file_id, 0, dirty0), 0);
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(c.write(r.file_id, P, dirty1), 0);
    EXPECT_EQ(c.write(r.file_id, 2 * P, "tail"), 0);  // extends the file
    ++handled;
    EXPECT_EQ(c.cancel(r.lock_handle), 0);
  });
  dmfs_lock_enqueue_rep lb{};
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(b->lock(id, 0, 3 * P, DMFS_LOCK_PR, 0, lb), 0);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 100ms);
  EXPECT_EQ(handled.load(), 1);
  EXPECT_EQ(lb.attr.size, 2 * P + 4);
  EXPECT_NE(lb.attr.data_version, dv_before);
  std::string got;
  ASSERT_EQ(b->read(id, 0, 3 * P, got), 0);
  EXPECT_EQ(got, dirty0 + dirty1 + "tail");
}

// The recipe of protocol.md for a cluster-wide size: GETATTR shows what was
// written back; a PR lock reaching EOF revokes the extending writer first.
TEST_F(Dmfsd, TailLockGivesClusterWideSize) {
  start();
  auto a = connect("A"), b = connect("B");
  uint64_t id = make_file(*a, "f", std::string(5000, 'x'));
  dmfs_lock_enqueue_rep la{};
  ASSERT_EQ(a->lock(id, 4096, 8192, DMFS_LOCK_PW, DMFS_LKF_NOEXPAND, la), 0);
  // A extends the file to 7000 bytes in its cache (dirty, not written back).
  std::string tail(7000 - 4096, 'y');
  a->set_revoke_handler([&](Client& c, uint64_t cb, const dmfs_revoke_cb& r) {
    c.ack_revoke(cb);
    EXPECT_EQ(c.write(r.file_id, 4096, tail), 0);
    EXPECT_EQ(c.cancel(r.lock_handle), 0);
  });
  dmfs_attr at{};
  ASSERT_EQ(b->getattr(id, at), 0);
  EXPECT_EQ(at.size, 5000u);  // the server's size
  dmfs_lock_enqueue_rep lb{};
  ASSERT_EQ(b->lock(id, (at.size / P) * P, DMFS_EOF, DMFS_LOCK_PR, 0, lb), 0);
  EXPECT_EQ(lb.attr.size, 7000u);
}

// An intent enqueue: the grant carries the page at its start, read after the
// conflicting holder wrote back (one round trip for an uncached fault).
TEST_F(Dmfsd, GrantCarriesTheFaultingPage) {
  start();
  auto a = connect("A"), b = connect("B");
  EXPECT_TRUE(b->hello().flags & DMFS_HELLO_GRANT_PAGES);
  const uint64_t P = DMFS_PAGE_SIZE;
  uint64_t id = make_file(*a, "f", std::string(P, 'x') + std::string(904, 'y'));
  dmfs_lock_enqueue_rep la{}, lb{};
  std::string page;
  ASSERT_EQ(b->lock(id, P, 2 * P, DMFS_LOCK_PR, DMFS_LKF_WITH_PAGE | DMFS_LKF_NOEXPAND, lb, &page), 0);
  ASSERT_TRUE(lb.flags & DMFS_LGF_PAGE);
  EXPECT_EQ(page, std::string(904, 'y'));  // up to EOF
  ASSERT_EQ(b->cancel(lb.lock_handle), 0);
  // Past EOF: a grant with no data.
  ASSERT_EQ(b->lock(id, 4 * P, 5 * P, DMFS_LOCK_PR, DMFS_LKF_WITH_PAGE | DMFS_LKF_NOEXPAND, lb, &page), 0);
  EXPECT_TRUE(lb.flags & DMFS_LGF_PAGE);
  EXPECT_EQ(page, "");
  ASSERT_EQ(b->cancel(lb.lock_handle), 0);
  // A writer holds the page dirty: the data comes after its write-back.
  ASSERT_EQ(a->lock(id, 0, DMFS_EOF, DMFS_LOCK_PW, 0, la), 0);
  const std::string dirty(P, 'D');
  a->set_revoke_handler([&](Client& c, uint64_t cb, const dmfs_revoke_cb& r) {
    c.ack_revoke(cb);
    EXPECT_EQ(c.write(r.file_id, 0, dirty), 0);
    EXPECT_EQ(c.cancel(r.lock_handle), 0);
  });
  ASSERT_EQ(b->lock(id, 0, P, DMFS_LOCK_PR, DMFS_LKF_WITH_PAGE, lb, &page), 0);
  ASSERT_TRUE(lb.flags & DMFS_LGF_PAGE);
  EXPECT_EQ(page, dirty);
  // Without the flag, no data.
  ASSERT_EQ(b->cancel(lb.lock_handle), 0);
  ASSERT_EQ(b->lock(id, 0, P, DMFS_LOCK_PR, 0, lb, &page), 0);
  EXPECT_FALSE(lb.flags & DMFS_LGF_PAGE);
}

// A revoke's write-back need not wait for the WRITEs' answers: the server
// serves a connection's requests in order (protocol.md), so the CANCEL sent
// right behind them releases the lock only after they took effect, and the
// answers come in the order the requests were sent.
TEST_F(Dmfsd, PipelinedWriteBackReachesTheNextHolder) {
  start();
  auto a = connect("A"), b = connect("B");
  uint64_t id = make_file(*a, "f", std::string(2 * P, '0'));
  dmfs_lock_enqueue_rep la{}, lb{};
  ASSERT_EQ(a->lock(id, 0, DMFS_EOF, DMFS_LOCK_PW, 0, la), 0);
  const std::string dirty = patterned(2 * P);
  std::promise<bool> in_order;
  a->set_revoke_handler([&](Client& c, uint64_t cb, const dmfs_revoke_cb& r) {
    c.ack_revoke(cb);
    dmfs_write_req w{};
    w.file_id = r.file_id;
    w.length = uint32_t(P);
    auto first = c.call_async(DMFS_OP_WRITE, {wire::bytes_of(w), wire::bytes_of(std::string_view(dirty).substr(0, P))});
    w.offset = P;
    auto second = c.call_async(DMFS_OP_WRITE, {wire::bytes_of(w), wire::bytes_of(std::string_view(dirty).substr(P))});
    dmfs_lock_cancel_req q{};
    q.lock_handle = r.lock_handle;
    auto cancel = c.call_async(DMFS_OP_LOCK_CANCEL, {wire::bytes_of(q)});
    ASSERT_EQ(cancel.wait_for(5s), std::future_status::ready);
    in_order.set_value(first.wait_for(0s) == std::future_status::ready &&
                       second.wait_for(0s) == std::future_status::ready);
    EXPECT_EQ(first.get().status, 0);
    EXPECT_EQ(second.get().status, 0);
    EXPECT_EQ(cancel.get().status, 0);
  });
  std::string page;
  ASSERT_EQ(b->lock(id, 0, 2 * P, DMFS_LOCK_PR, DMFS_LKF_WITH_PAGE | DMFS_LKF_NOEXPAND, lb, &page), 0);
  ASSERT_TRUE(lb.flags & DMFS_LGF_PAGE);
  EXPECT_EQ(page, dirty.substr(0, P));
  std::string got;
  ASSERT_EQ(b->read(id, 0, 2 * P, got), 0);
  EXPECT_EQ(got, dirty);
  auto answered = in_order.get_future();
  ASSERT_EQ(answered.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(answered.get());
}

// GLIMPSE: B learns A's unwritten extension and modification by asking A,
// and A keeps its PW lock (no revoke). The mtime moves at a new
// modification only, and the same unwritten one shows the same mtime.
TEST_F(Dmfsd, GlimpseAsksTheWriterInsteadOfRevoking) {
  start();
  auto a = connect("A"), b = connect("B");
  uint64_t id = make_file(*a, "f", std::string(5000, 'x'));
  dmfs_lock_enqueue_rep la{};
  ASSERT_EQ(a->lock(id, 4096, DMFS_EOF, DMFS_LOCK_PW, 0, la), 0);
  std::atomic<uint64_t> seq{1};
  a->set_glimpse_handler([&](uint64_t file) -> std::optional<dmfs_glimpse_rep> {
    if (file != id) return std::nullopt;
    return dmfs_glimpse_rep{7000, seq.load()};
  });
  dmfs_attr before{}, g1{}, g2{}, g3{};
  ASSERT_EQ(b->getattr(id, before), 0);
  std::this_thread::sleep_for(20ms);
  ASSERT_EQ(b->glimpse(id, g1), 0);
  EXPECT_EQ(g1.size, 7000u);
  EXPECT_TRUE(g1.mtime_sec > before.mtime_sec ||
              (g1.mtime_sec == before.mtime_sec && g1.mtime_nsec > before.mtime_nsec));
  ASSERT_EQ(b->glimpse(id, g2), 0);
  EXPECT_EQ(g2.mtime_sec, g1.mtime_sec);
  EXPECT_EQ(g2.mtime_nsec, g1.mtime_nsec);
  seq = 2;
  std::this_thread::sleep_for(20ms);
  ASSERT_EQ(b->glimpse(id, g3), 0);
  EXPECT_TRUE(g3.mtime_sec > g2.mtime_sec || (g3.mtime_sec == g2.mtime_sec && g3.mtime_nsec > g2.mtime_nsec));
  EXPECT_EQ(a->glimpses_received(), 3u);
  EXPECT_EQ(a->revokes_received(), 0u);
  // The requester is never asked about its own locks.
  dmfs_attr own{};
  ASSERT_EQ(a->glimpse(id, own), 0);
  EXPECT_EQ(a->glimpses_received(), 3u);
  EXPECT_EQ(own.size, 5000u);
}

// A PW holder that did not announce DMFS_HELLO_ANSWERS_GLIMPSE (a client
// older than GLIMPSE) is never sent a callback it cannot parse: the glimpse
// fails with EOPNOTSUPP and the requester falls back to a PR lock.
TEST_F(Dmfsd, GlimpseOfAnOlderHolderIsRefused) {
  start();
  auto o = opts("old");
  o.no_glimpse_answers = true;
  auto old = Client::connect(o);
  auto b = connect("B");
  uint64_t id = make_file(*old, "f", "abc");
  dmfs_lock_enqueue_rep la{};
  ASSERT_EQ(old->lock(id, 0, DMFS_EOF, DMFS_LOCK_PW, 0, la), 0);
  dmfs_attr at{};
  EXPECT_EQ(b->glimpse(id, at), -EOPNOTSUPP);
  EXPECT_EQ(old->glimpses_received(), 0u);
  EXPECT_EQ(old->revokes_received(), 0u);
  dmfs_attr still{};
  EXPECT_EQ(old->getattr(id, still), 0);  // its session is intact
}

// A holder that does not answer a glimpse is evicted like one that does not
// cancel a revoked lock; the glimpse then completes without it.
TEST_F(Dmfsd, SilentGlimpseHolderIsEvicted) {
  start({"--revoke-timeout", "300ms"});
  auto a = connect("silent"), b = connect("B");
  uint64_t id = make_file(*a, "f", "abc");
  dmfs_lock_enqueue_rep la{};
  ASSERT_EQ(a->lock(id, 0, DMFS_EOF, DMFS_LOCK_PW, 0, la), 0);
  a->ignore_glimpses();
  auto t0 = std::chrono::steady_clock::now();
  dmfs_attr at{};
  ASSERT_EQ(b->glimpse(id, at), 0);
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 290ms);
  EXPECT_LT(waited, 5s);
  EXPECT_EQ(at.size, 3u);
  EXPECT_NE(srv->log().find("a glimpse was not answered"), std::string::npos);
}

// --fault no-glimpse: the holder is never asked; B sees the server's size.
TEST_F(Dmfsd, FaultNoGlimpse) {
  start({"--fault", "no-glimpse"});
  auto a = connect("A"), b = connect("B");
  uint64_t id = make_file(*a, "f", std::string(5000, 'x'));
  dmfs_lock_enqueue_rep la{};
  ASSERT_EQ(a->lock(id, 0, DMFS_EOF, DMFS_LOCK_PW, 0, la), 0);
  a->set_glimpse_handler([](uint64_t) { return std::optional<dmfs_glimpse_rep>(dmfs_glimpse_rep{9000, 1}); });
  dmfs_attr at{};
  ASSERT_EQ(b->glimpse(id, at), 0);
  EXPECT_EQ(at.size, 5000u);
  EXPECT_EQ(a->glimpses_received(), 0u);
}

// Several clients increment a counter in the file under PW locks: mutual
// exclusion and hand-off end to end, with revokes arriving while holders work.
TEST_F(Dmfsd, ContendedCounterIsExact) {
  start();
  auto setup = connect("setup");
  uint64_t id = make_file(*setup, "counter", std::string(8, '\0'));
  constexpr int kClients = 4, kIters = 40;
  std::vector<std::thread> ts;
  std::atomic<int> errors{0};
  for (int i = 0; i < kClients; ++i)
    ts.emplace_back([&, i] {
      auto c = connect("worker" + std::to_string(i));
      // A holder finishes its critical section, then cancels by itself.
      c->set_revoke_handler([](Client& cl, uint64_t cb, const dmfs_revoke_cb&) { cl.ack_revoke(cb); });
      for (int k = 0; k < kIters; ++k) {
        dmfs_lock_enqueue_rep l{};
        if (c->lock(id, 0, P, DMFS_LOCK_PW, 0, l)) {
          ++errors;
          return;
        }
        std::string v;
        if (c->read(id, 0, P, v) || v.size() != 8) {
          ++errors;
          return;
        }
        uint64_t n;
        std::memcpy(&n, v.data(), 8);
        ++n;
        std::memcpy(v.data(), &n, 8);
        if (c->write(id, 0, v)) ++errors;
        if (c->cancel(l.lock_handle)) ++errors;
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(errors.load(), 0);
  std::string v;
  ASSERT_EQ(setup->read(id, 0, P, v), 0);
  uint64_t n = 0;
  std::memcpy(&n, v.data(), 8);
  EXPECT_EQ(n, uint64_t(kClients * kIters));
}

TEST_F(Dmfsd, SilentClientIsEvicted) {
  start({"--revoke-timeout", "300ms"});
  auto a = connect("silent"), b = connect("B");
  uint64_t id = make_file(*a, "f");
  dmfs_lock_enqueue_rep la{}, lb{};
  ASSERT_EQ(a->lock(id, 0, P, DMFS_LOCK_PW, 0, la), 0);
  uint64_t exec_handle = 0;
  ASSERT_EQ(a->open(id, DMFS_OPEN_EXEC, exec_handle), 0);
  a->set_revoke_handler([](Client&, uint64_t, const dmfs_revoke_cb&) { /* never answers */ });
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(b->lock(id, 0, P, DMFS_LOCK_PW, 0, lb), 0);
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 290ms);
  EXPECT_LT(waited, 5s);
  ASSERT_TRUE(a->wait_closed(5s));
  EXPECT_EQ(a->evicted_reason(), DMFS_EVICT_REVOKE_TIMEOUT);
  EXPECT_EQ(a->ping(), -ENOTCONN);
  // Its exec open is gone with it: B may open for write.
  uint64_t h = 0;
  EXPECT_EQ(b->open(id, DMFS_OPEN_WRITE, h), 0);
  EXPECT_NE(srv->log().find("EVICT client"), std::string::npos);
  // It may come back as a new client; its old lock handle means nothing.
  auto a2 = connect("silent");
  EXPECT_NE(a2->client_id(), a->client_id());
  EXPECT_EQ(a2->cancel(la.lock_handle), -ENOLCK);
}

TEST_F(Dmfsd, ClientThatWritesBackSlowlyIsNotEvicted) {
  start({"--revoke-timeout", "1s"});
  auto a = connect("slow"), b = connect("B");
  uint64_t id = make_file(*a, "f");
  dmfs_lock_enqueue_rep la{}, lb{};
  ASSERT_EQ(a->lock(id, 0, P, DMFS_LOCK_PW, 0, la), 0);
  a->set_revoke_handler([](Client& c, uint64_t cb, const dmfs_revoke_cb& r) {
    c.ack_revoke(cb);
    // Each WRITE restarts the revoke timer: 4 x 400 ms > timeout in total.
    for (int i = 0; i < 4; ++i) {
      std::this_thread::sleep_for(400ms);
      EXPECT_EQ(c.write(r.file_id, uint64_t(i) * P, std::string(P, char('a' + i))), 0);
    }
    EXPECT_EQ(c.cancel(r.lock_handle), 0);
  });
  ASSERT_EQ(b->lock(id, 0, P, DMFS_LOCK_PR, 0, lb), 0);
  EXPECT_TRUE(a->connected());
  EXPECT_EQ(a->ping(), 0);
  EXPECT_EQ(lb.attr.size, 4 * P);
}

TEST_F(Dmfsd, ExecOpenDeniesWritersEverywhere) {
  start();
  auto a = connect("A"), b = connect("B");
  uint64_t id = make_file(*a, "bin", "#!/bin/sh\n");
  uint64_t he = 0, hw = 0, hr = 0;
  dmfs_attr at{};
  ASSERT_EQ(a->open(id, DMFS_OPEN_READ | DMFS_OPEN_EXEC, he, &at), 0);
  EXPECT_TRUE(at.flags & DMFS_AF_EXEC_BUSY);
  EXPECT_EQ(b->open(id, DMFS_OPEN_WRITE, hw), -ETXTBSY);
  EXPECT_EQ(a->open(id, DMFS_OPEN_WRITE, hw), -ETXTBSY);  // also the runner's own node
  EXPECT_EQ(b->open(id, DMFS_OPEN_WRITE | DMFS_OPEN_TRUNC, hw), -ETXTBSY);
  EXPECT_EQ(b->truncate(id, 0), -ETXTBSY);
  EXPECT_EQ(b->open(id, DMFS_OPEN_READ, hr), 0);
  EXPECT_EQ(b->open(id, DMFS_OPEN_EXEC, hr), 0);  // two runners are fine
  EXPECT_EQ(a->close(he), 0);
  EXPECT_EQ(b->open(id, DMFS_OPEN_WRITE, hw), -ETXTBSY);  // B itself still runs it
  EXPECT_EQ(b->close(hr), 0);
  ASSERT_EQ(b->open(id, DMFS_OPEN_WRITE, hw), 0);
  // While a writer has it open, exec is refused.
  EXPECT_EQ(a->open(id, DMFS_OPEN_EXEC, he), -ETXTBSY);
  // The writer's disconnect releases its open.
  b.reset();
  for (int i = 0; i < 100 && a->open(id, DMFS_OPEN_EXEC, he) == -ETXTBSY; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(a->getattr(id, at), 0);
  EXPECT_TRUE(at.flags & DMFS_AF_EXEC_BUSY);
  EXPECT_EQ(a->close(12345), -EBADF);
}

TEST_F(Dmfsd, CancelWaitingEnqueueByReqId) {
  start();
  auto a = connect("A"), b = connect("B");
  uint64_t id = make_file(*a, "f");
  a->set_revoke_handler([](Client& c, uint64_t cb, const dmfs_revoke_cb&) { c.ack_revoke(cb); });
  dmfs_lock_enqueue_rep la{};
  ASSERT_EQ(a->lock(id, 0, P, DMFS_LOCK_PW, 0, la), 0);
  uint64_t rid = 0;
  auto f = b->lock_async(id, 0, P, DMFS_LOCK_PW, 0, &rid);
  EXPECT_EQ(f.wait_for(100ms), std::future_status::timeout);
  EXPECT_EQ(b->cancel(rid, DMFS_LCF_BY_REQID), 0);
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get().status, -ECANCELED);
  EXPECT_EQ(b->cancel(rid, DMFS_LCF_BY_REQID), -ENOLCK);
  EXPECT_EQ(a->cancel(la.lock_handle), 0);
}

TEST_F(Dmfsd, UnlinkedOpenFileStaysUsable) {
  start();
  auto a = connect("A"), b = connect("B");
  uint64_t id = make_file(*a, "f", "keep me");
  uint64_t h = 0;
  ASSERT_EQ(a->open(id, DMFS_OPEN_READ | DMFS_OPEN_WRITE, h), 0);
  ASSERT_EQ(b->unlink(b->root(), "f"), 0);
  std::string got;
  ASSERT_EQ(a->read(id, 0, P, got), 0);
  EXPECT_EQ(got, "keep me");
  EXPECT_EQ(a->write(id, 0, "still ok"), 0);
  EXPECT_EQ(a->close(h), 0);
  dmfs_attr at{};
  EXPECT_EQ(a->getattr(id, at), -ESTALE);
}

TEST_F(Dmfsd, SharedSecretHandshake) {
  std::string secret_file = root + ".secret";
  {
    std::ofstream f(secret_file);
    f << "sesame\n";
  }
  start({"--secret-file", secret_file});
  int st = 0;
  auto o = opts();
  EXPECT_EQ(Client::try_connect(o, &st), nullptr);
  EXPECT_EQ(st, -EACCES);
  o.secret = "wrong";
  EXPECT_EQ(Client::try_connect(o, &st), nullptr);
  EXPECT_EQ(st, -EACCES);
  o.secret = "sesame";
  auto c = Client::try_connect(o, &st);
  ASSERT_NE(c, nullptr) << st;
  EXPECT_TRUE(c->hello().flags & DMFS_HELLO_AUTH_REQUIRED);
  EXPECT_EQ(c->ping(), 0);
  fs::remove(secret_file);
}

// Raw socket helpers for protocol-violation tests.
int raw_connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) return -1;
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// Reads replies until EOF; returns the statuses seen, and whether EOF came.
std::vector<int> read_until_eof(int fd, bool& eof) {
  std::vector<int> st;
  eof = false;
  for (;;) {
    dmfs_hdr h{};
    ssize_t n = recv(fd, &h, sizeof h, MSG_WAITALL);
    if (n == 0) {
      eof = true;
      break;
    }
    if (n != sizeof h) break;
    st.push_back(int32_t(h.status));
    std::vector<uint8_t> body(h.length - sizeof h);
    if (!body.empty() && recv(fd, body.data(), body.size(), MSG_WAITALL) != ssize_t(body.size())) break;
  }
  return st;
}

TEST_F(Dmfsd, MalformedMessagesNeverHurtOthers) {
  start();
  auto good = connect("good");
  uint64_t id = make_file(*good, "f", "x");
  bool eof = false;
  {  // request before HELLO: -EPROTO then closed
    int fd = raw_connect(srv->port());
    auto m = wire::make_message(DMFS_OP_PING, 0, 1, 0);
    ASSERT_EQ(send(fd, m.data(), m.size(), 0), ssize_t(m.size()));
    auto st = read_until_eof(fd, eof);
    EXPECT_TRUE(eof);
    ASSERT_EQ(st.size(), 1u);
    EXPECT_EQ(st[0], -EPROTO);
    close(fd);
  }
  {  // oversized length: closed
    int fd = raw_connect(srv->port());
    dmfs_hdr h{};
    h.length = DMFS_MAX_MSG + 1;
    h.opcode = DMFS_OP_HELLO;
    send(fd, &h, sizeof h, 0);
    read_until_eof(fd, eof);
    EXPECT_TRUE(eof);
    close(fd);
  }
  {  // garbage
    int fd = raw_connect(srv->port());
    std::string junk(1000, '\xff');
    send(fd, junk.data(), junk.size(), 0);
    read_until_eof(fd, eof);
    EXPECT_TRUE(eof);
    close(fd);
  }
  {  // bad magic in HELLO
    int fd = raw_connect(srv->port());
    dmfs_hello_req hr{};
    hr.magic = 0x1234;
    auto m = wire::make_message(DMFS_OP_HELLO, 0, 1, 0, {wire::bytes_of(hr)});
    send(fd, m.data(), m.size(), 0);
    auto st = read_until_eof(fd, eof);
    EXPECT_TRUE(eof);
    ASSERT_EQ(st.size(), 1u);
    EXPECT_EQ(st[0], -EPROTO);
    close(fd);
  }
  {  // a half message then disconnect
    int fd = raw_connect(srv->port());
    dmfs_hdr h{};
    h.length = 1000;
    send(fd, &h, sizeof h, 0);
    close(fd);
  }
  // Errors that keep the connection: unknown opcode, wrong body size, bad
  // values, duplicate enqueue id; then a framing error closes it.
  auto c = connect("sloppy");
  EXPECT_EQ(c->call(200, {}).status, -EOPNOTSUPP);
  EXPECT_EQ(c->call(DMFS_OP_GETATTR, {wire::bytes_of(uint32_t{1})}).status, -EBADMSG);
  dmfs_lock_enqueue_req q{};
  q.file_id = id;
  q.start = 1;
  q.end = P;
  q.mode = DMFS_LOCK_PW;
  EXPECT_EQ(c->call(DMFS_OP_LOCK_ENQUEUE, {wire::bytes_of(q)}).status, -EINVAL);
  dmfs_fid_req g{999999999};
  EXPECT_EQ(c->call(DMFS_OP_GETATTR, {wire::bytes_of(g)}).status, -ESTALE);
  EXPECT_EQ(c->call(DMFS_OP_HELLO, {}).status, -EPROTO);  // HELLO twice: violation, closed
  EXPECT_TRUE(c->wait_closed(5s));
  // An answer to a callback that was never sent: closed.
  auto d = connect("liar");
  d->ack_revoke(77);
  EXPECT_TRUE(d->wait_closed(5s));
  // The good client never noticed.
  EXPECT_EQ(good->ping(), 0);
  std::string got;
  EXPECT_EQ(good->read(id, 0, P, got), 0);
  EXPECT_EQ(got, "x");
}

// Hostile clients: after a valid handshake they send well-framed messages
// with random opcodes and bodies, or random bytes; the server answers or
// closes, keeps serving a well-behaved client, and its memory stays bounded.
TEST_F(Dmfsd, RandomMessageStormKeepsServing) {
  start();
  auto good = connect("good");
  uint64_t id = make_file(*good, "f", "stable");
  std::mt19937_64 rng(2024);
  auto deadline = std::chrono::steady_clock::now() + 3s;
  int conns = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    int st = 0;
    auto o = opts("storm");
    o.timeout = 2s;
    auto c = Client::try_connect(o, &st);
    ASSERT_NE(c, nullptr) << st;
    ++conns;
    for (int k = 0; k < 200 && c->connected(); ++k) {
      std::vector<uint8_t> body(rng() % 300);
      for (auto& b : body) b = uint8_t(rng());
      // Bias towards real opcodes and plausible ids.
      uint16_t op = uint16_t(rng() % 3 ? 1 + rng() % 22 : rng());
      if (body.size() >= 8 && rng() % 2) std::memcpy(body.data(), rng() % 2 ? &id : &good->hello().root_id, 8);
      if (op == DMFS_OP_BYE) continue;
      auto m = wire::make_message(op, uint16_t(rng() % 16 ? 0 : rng()), rng(), 0,
                                  {wire::Bytes(body.data(), body.size())});
      if (rng() % 50 == 0) m.resize(rng() % m.size());  // truncated / garbage framing
      c->send_raw(m.data(), m.size());
    }
    c->ping();
    EXPECT_EQ(good->ping(), 0);
  }
  std::string got;
  EXPECT_EQ(good->read(id, 0, P, got), 0);
  EXPECT_EQ(got, "stable");
  long rss = srv->rss_kib();
  EXPECT_GE(conns, 1);
  EXPECT_LT(rss, 200 * 1024) << "dmfsd RSS " << rss << " KiB";
}

TEST_F(Dmfsd, SilentConnectionsAreClosedAndSlotsLimited) {
  start({"--handshake-timeout", "300ms", "--max-clients", "2"});
  auto a = connect("A");
  auto b = connect("B");
  // A third connection is refused while two are open.
  int st = 0;
  auto o = opts("C");
  o.timeout = 2s;
  EXPECT_EQ(Client::try_connect(o, &st), nullptr);
  b.reset();  // frees a slot
  std::unique_ptr<Client> c;
  for (int i = 0; i < 200 && !c; ++i) {
    c = Client::try_connect(o, &st);
    if (!c) std::this_thread::sleep_for(20ms);
  }
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->ping(), 0);
  c.reset();
  // A connection that never says HELLO is closed after the handshake timeout.
  int idle = -1;
  bool eof = false;
  for (int i = 0; i < 200 && !eof; ++i) {  // until the slot freed by C is usable
    idle = raw_connect(srv->port());
    ASSERT_GE(idle, 0);
    auto t0 = std::chrono::steady_clock::now();
    read_until_eof(idle, eof);
    close(idle);
    if (eof && std::chrono::steady_clock::now() - t0 < 200ms) {
      eof = false;  // refused at once (slot not yet free): try again
      std::this_thread::sleep_for(20ms);
    }
  }
  EXPECT_TRUE(eof);
  EXPECT_EQ(a->ping(), 0);  // completed handshakes are not subject to it
}

// A raw connection past HELLO, or -1.
int raw_hello(uint16_t port) {
  int fd = raw_connect(port);
  if (fd < 0) return -1;
  dmfs_hello_req hr{};
  hr.magic = DMFS_MAGIC;
  hr.version_min = hr.version_max = DMFS_PROTO_VERSION;
  auto hm = wire::make_message(DMFS_OP_HELLO, 0, 1, 0, {wire::bytes_of(hr)});
  dmfs_hdr h{};
  std::vector<uint8_t> body;
  if (send(fd, hm.data(), hm.size(), 0) != ssize_t(hm.size()) ||
      recv(fd, &h, sizeof h, MSG_WAITALL) != ssize_t(sizeof h) || int32_t(h.status) != 0) {
    close(fd);
    return -1;
  }
  body.resize(h.length - sizeof h);
  if (recv(fd, body.data(), body.size(), MSG_WAITALL) != ssize_t(body.size())) {
    close(fd);
    return -1;
  }
  return fd;
}

// `n` READs of the first DMFS_MAX_IO bytes of file `id`, back to back.
std::vector<uint8_t> read_requests(uint64_t id, int n) {
  std::vector<uint8_t> reqs;
  for (int i = 0; i < n; ++i) {
    dmfs_read_req q{};
    q.file_id = id;
    q.length = DMFS_MAX_IO;
    wire::append_message(reqs, DMFS_OP_READ, 0, 100 + i, 0, {wire::bytes_of(q)});
  }
  return reqs;
}

// One READ reply's status and data; false at EOF or a short message.
bool recv_read_reply(int fd, int32_t& status, std::string& data) {
  dmfs_hdr h{};
  if (recv(fd, &h, sizeof h, MSG_WAITALL) != ssize_t(sizeof h)) return false;
  std::string body(h.length - sizeof h, '\0');
  if (!body.empty() && recv(fd, body.data(), body.size(), MSG_WAITALL) != ssize_t(body.size())) return false;
  status = int32_t(h.status);
  data = body.size() >= sizeof(dmfs_read_rep) ? body.substr(sizeof(dmfs_read_rep)) : std::string();
  return true;
}

// A client that sends many large READs without reading the replies: the
// server stops reading it at its output high-water mark (bounded memory),
// and serves everything, each byte in its place, once the client reads.
TEST_F(Dmfsd, BackPressureBoundsMemory) {
  start();
  auto setup = connect("setup");
  const std::string content = patterned(DMFS_MAX_IO);
  uint64_t id = make_file(*setup, "big", content);
  int fd = raw_hello(srv->port());
  ASSERT_GE(fd, 0);
  constexpr int kReads = 96;  // 96 MiB of replies if nothing pushed back
  std::vector<uint8_t> reqs = read_requests(id, kReads);
  // The sender may block once the server stops reading: send from a thread.
  std::thread sender([&] { send(fd, reqs.data(), reqs.size(), MSG_NOSIGNAL); });
  std::this_thread::sleep_for(500ms);
  long rss = srv->rss_kib();
  EXPECT_LT(rss, 64 * 1024) << "dmfsd RSS " << rss << " KiB while a client does not read";
  EXPECT_EQ(setup->ping(), 0);  // others are served meanwhile
  int got = 0, intact = 0;
  int32_t status = 0;
  std::string data;
  for (; got < kReads && recv_read_reply(fd, status, data); ++got) {
    EXPECT_EQ(status, 0);
    intact += data == content;
  }
  sender.join();
  EXPECT_EQ(got, kReads);
  EXPECT_EQ(intact, kReads);
  close(fd);
}

// READ data leaves dmfsd straight from the file when the socket takes it,
// else is read at once into the queue: a reply holds the file as it was
// when answered, never bytes written after that, even while the client
// lets replies pile up (a reply sent from the file later would mix both).
TEST_F(Dmfsd, ReadRepliesHoldTheFileAsAnswered) {
  start();
  auto writer = connect("writer");
  const std::string before(DMFS_MAX_IO, 'o'), after(DMFS_MAX_IO, 'n');
  uint64_t id = make_file(*writer, "f", before);
  int fd = raw_hello(srv->port());
  ASSERT_GE(fd, 0);
  constexpr int kReads = 48;  // more than the server queues before it stops reading
  std::vector<uint8_t> reqs = read_requests(id, kReads);
  std::thread sender([&] { send(fd, reqs.data(), reqs.size(), MSG_NOSIGNAL); });
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(writer->write(id, 0, after), 0);  // while replies wait in the socket and the queue
  int got = 0, old_replies = 0, new_replies = 0;
  int32_t status = 0;
  std::string data;
  for (; got < kReads && recv_read_reply(fd, status, data); ++got) {
    EXPECT_EQ(status, 0);
    if (data == before) {
      EXPECT_EQ(new_replies, 0) << "reply " << got << " older than one before it";
      ++old_replies;
    } else {
      EXPECT_EQ(data, after) << "reply " << got << " mixes the file before and after the write";
      ++new_replies;
    }
  }
  sender.join();
  EXPECT_EQ(got, kReads);
  EXPECT_GT(old_replies, 8) << "too few replies answered before the write to test the queue";
  EXPECT_GT(new_replies, 0) << "every reply answered before the write: back-pressure did not hold the rest";
  close(fd);
}

TEST_F(Dmfsd, ManyRequestsInFlightRepliesOutOfOrder) {
  start();
  auto a = connect("A"), b = connect("B");
  uint64_t id = make_file(*a, "f");
  a->set_revoke_handler([](Client& c, uint64_t cb, const dmfs_revoke_cb&) { c.ack_revoke(cb); });
  dmfs_lock_enqueue_rep la{};
  ASSERT_EQ(a->lock(id, 0, P, DMFS_LOCK_PW, 0, la), 0);
  // B: one enqueue that must wait, then many pings answered meanwhile.
  auto waiting = b->lock_async(id, 0, P, DMFS_LOCK_PR, 0);
  std::vector<std::future<Reply>> pings;
  for (int i = 0; i < 200; ++i) pings.push_back(b->call_async(DMFS_OP_PING, {}));
  for (auto& p : pings) {
    ASSERT_EQ(p.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(p.get().status, 0);
  }
  EXPECT_EQ(waiting.wait_for(10ms), std::future_status::timeout);
  EXPECT_EQ(a->cancel(la.lock_handle), 0);
  ASSERT_EQ(waiting.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(waiting.get().status, 0);
}

TEST_F(Dmfsd, FsyncedDataSurvivesRestart) {
  start();
  uint64_t id, dv;
  {
    auto c = connect();
    dmfs_attr d{};
    ASSERT_EQ(c->mkdir(c->root(), "sub", 0755, d), 0);
    dmfs_attr f{};
    ASSERT_EQ(c->create(d.file_id, "durable", 0644, f), 0);
    id = f.file_id;
    dmfs_write_rep w{};
    ASSERT_EQ(c->write(id, 0, "persistent bytes", &w), 0);
    ASSERT_EQ(c->fsync(id), 0);
    dv = w.data_version;
  }
  uint64_t boot1;
  {
    auto c = connect();
    boot1 = c->hello().server_boot_id;
  }
  EXPECT_EQ(srv->stop(SIGTERM), 0);
  EXPECT_NE(srv->log().find("clean shutdown recorded"), std::string::npos);
  start();
  {
    auto c = connect();
    EXPECT_NE(c->hello().server_boot_id, boot1);
    // The old file id is still valid after the restart.
    dmfs_attr a{};
    ASSERT_EQ(c->getattr(id, a), 0);
    EXPECT_EQ(a.data_version, dv);  // clean restart: same version
    std::string got;
    ASSERT_EQ(c->read(id, 0, P, got), 0);
    EXPECT_EQ(got, "persistent bytes");
    dmfs_attr d{}, f{};
    ASSERT_EQ(c->lookup(c->root(), "sub", d), 0);
    ASSERT_EQ(c->lookup(d.file_id, "durable", f), 0);
    EXPECT_EQ(f.file_id, id);
    ASSERT_EQ(c->write(id, 0, "PERSISTENT", nullptr, DMFS_WRITE_SYNC), 0);
  }
  // A crash (SIGKILL): what was fsynced (WRITE_SYNC) is there; versions
  // move on so no pre-crash version is reused.
  EXPECT_EQ(srv->stop(SIGKILL), 128 + SIGKILL);
  start();
  {
    auto c = connect();
    dmfs_attr a{};
    ASSERT_EQ(c->getattr(id, a), 0);
    EXPECT_GT(a.data_version, dv);
    std::string got;
    ASSERT_EQ(c->read(id, 0, P, got), 0);
    EXPECT_EQ(got, "PERSISTENT bytes");
  }
  EXPECT_NE(srv->log().find("UNCLEAN"), std::string::npos);
}

TEST_F(Dmfsd, ByeReleasesEverything) {
  start();
  auto a = connect("A"), b = connect("B");
  uint64_t id = make_file(*a, "f");
  dmfs_lock_enqueue_rep la{}, lb{};
  ASSERT_EQ(a->lock(id, 0, P, DMFS_LOCK_PW, 0, la), 0);
  a->set_revoke_handler([](Client& c, uint64_t cb, const dmfs_revoke_cb&) { c.ack_revoke(cb); });
  auto f = b->lock_async(id, 0, P, DMFS_LOCK_PW, 0);
  EXPECT_EQ(f.wait_for(50ms), std::future_status::timeout);
  EXPECT_EQ(a->bye(), 0);
  EXPECT_TRUE(a->wait_closed(5s));
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get().status, 0);
  (void)lb;
}

TEST_F(Dmfsd, ApplicationLocksAcrossClients) {
  start();
  auto a = connect("A"), b = connect("B");
  uint64_t id = make_file(*a, "f");
  ASSERT_EQ(a->plock(id, 1, 0, 8, DMFS_PLK_WRLCK, 0, nullptr, 4242), 0);
  EXPECT_EQ(b->plock(id, 1, 4, 12, DMFS_PLK_RDLCK, 0), -EAGAIN);
  EXPECT_EQ(b->plock(id, 1, 8, 12, DMFS_PLK_WRLCK, 0), 0);  // disjoint
  dmfs_plock_rep c{};
  ASSERT_EQ(b->plock(id, 2, 0, DMFS_EOF, DMFS_PLK_RDLCK, DMFS_PLKF_TEST, &c), 0);
  EXPECT_EQ(c.type, DMFS_PLK_WRLCK);
  EXPECT_EQ(c.start, 0u);
  EXPECT_EQ(c.end, 8u);
  EXPECT_EQ(c.pid, 4242u);
  EXPECT_EQ(c.owner, 1u);
  // A blocking request waits; other requests are served meanwhile.
  auto w = b->plock_async(id, 1, 0, 8, DMFS_PLK_WRLCK, DMFS_PLKF_WAIT);
  EXPECT_EQ(w.wait_for(100ms), std::future_status::timeout);
  EXPECT_EQ(b->ping(), 0);
  ASSERT_EQ(a->plock(id, 1, 0, DMFS_EOF, DMFS_PLK_UNLCK, 0), 0);
  ASSERT_EQ(w.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(w.get().status, 0);
  // flock() space is independent of the fcntl space.
  EXPECT_EQ(a->plock(id, 9, 0, 0, DMFS_PLK_WRLCK, DMFS_PLKF_FLOCK), 0);
  EXPECT_EQ(b->plock(id, 9, 0, 0, DMFS_PLK_RDLCK, DMFS_PLKF_FLOCK), -EAGAIN);
  // Bad requests.
  EXPECT_EQ(a->plock(id, 1, 8, 8, DMFS_PLK_WRLCK, 0), -EINVAL);
  EXPECT_EQ(a->plock(id, 1, 0, 8, 7, 0), -EINVAL);
  EXPECT_EQ(a->plock(999999999, 1, 0, 8, DMFS_PLK_WRLCK, 0), -ESTALE);
}

TEST_F(Dmfsd, ApplicationLockDeadlockCancelAndDisconnect) {
  start();
  auto a = connect("A"), b = connect("B"), c = connect("C");
  uint64_t f1 = make_file(*a, "f1"), f2 = make_file(*a, "f2");
  ASSERT_EQ(a->plock(f1, 1, 0, 1, DMFS_PLK_WRLCK, 0), 0);
  ASSERT_EQ(b->plock(f2, 1, 0, 1, DMFS_PLK_WRLCK, 0), 0);
  auto aw = a->plock_async(f2, 1, 0, 1, DMFS_PLK_WRLCK, DMFS_PLKF_WAIT);
  EXPECT_EQ(aw.wait_for(50ms), std::future_status::timeout);
  EXPECT_EQ(b->plock(f1, 1, 0, 1, DMFS_PLK_WRLCK, DMFS_PLKF_WAIT), -EDEADLK);
  // C waits on f1, then withdraws (a signal interrupted F_SETLKW).
  uint64_t rid = 0;
  auto cw = c->plock_async(f1, 1, 0, 1, DMFS_PLK_RDLCK, DMFS_PLKF_WAIT, &rid);
  EXPECT_EQ(cw.wait_for(50ms), std::future_status::timeout);
  EXPECT_EQ(c->cancel(rid, DMFS_LCF_BY_REQID), 0);
  ASSERT_EQ(cw.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(cw.get().status, -ECANCELED);
  // B goes away: its lock on f2 is released and A's wait ends.
  b.reset();
  ASSERT_EQ(aw.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(aw.get().status, 0);
}

// shared.locked-update at the protocol level: increments under a cluster-wide
// fcntl-style lock are exact.
TEST_F(Dmfsd, ApplicationLockedCounterIsExact) {
  start();
  auto setup = connect("setup");
  uint64_t id = make_file(*setup, "counter", std::string(8, '\0'));
  constexpr int kClients = 4, kIters = 30;
  std::atomic<int> errors{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < kClients; ++i)
    ts.emplace_back([&, i] {
      auto c = connect("worker" + std::to_string(i));
      for (int k = 0; k < kIters; ++k) {
        if (c->plock(id, 1, 0, 8, DMFS_PLK_WRLCK, DMFS_PLKF_WAIT)) {
          ++errors;
          return;
        }
        std::string v;
        if (c->read(id, 0, P, v) || v.size() != 8) {
          ++errors;
          return;
        }
        uint64_t n;
        std::memcpy(&n, v.data(), 8);
        ++n;
        std::memcpy(v.data(), &n, 8);
        if (c->write(id, 0, v)) ++errors;
        if (c->plock(id, 1, 0, 8, DMFS_PLK_UNLCK, 0)) ++errors;
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(errors.load(), 0);
  std::string v;
  ASSERT_EQ(setup->read(id, 0, P, v), 0);
  uint64_t n = 0;
  std::memcpy(&n, v.data(), 8);
  EXPECT_EQ(n, uint64_t(kClients * kIters));
}

TEST_F(Dmfsd, FaultNoPlock) {
  start({"--fault", "no-plock"});
  auto a = connect("A"), b = connect("B");
  uint64_t id = make_file(*a, "f");
  ASSERT_EQ(a->plock(id, 1, 0, 8, DMFS_PLK_WRLCK, 0), 0);
  EXPECT_EQ(b->plock(id, 1, 0, 8, DMFS_PLK_WRLCK, 0), 0);
}

// Each fault switch visibly disables its duty at the protocol level (the
// conformance suite shows the consequences on a mounted filesystem).
TEST_F(Dmfsd, FaultNoRevoke) {
  start({"--fault", "no-revoke"});
  auto a = connect("A"), b = connect("B");
  uint64_t id = make_file(*a, "f");
  dmfs_lock_enqueue_rep la{}, lb{};
  ASSERT_EQ(a->lock(id, 0, P, DMFS_LOCK_PW, 0, la), 0);
  ASSERT_EQ(b->lock(id, 0, P, DMFS_LOCK_PW, 0, lb), 0);
  EXPECT_EQ(a->revokes_received(), 0u);
  EXPECT_NE(srv->log().find("FAULT INJECTION ACTIVE: no-revoke"), std::string::npos);
}

TEST_F(Dmfsd, FaultNoWritebackSetsDiscard) {
  start({"--fault", "no-writeback"});
  auto a = connect("A"), b = connect("B");
  uint64_t id = make_file(*a, "f");
  std::atomic<uint32_t> flags{0};
  a->set_revoke_handler([&](Client& c, uint64_t cb, const dmfs_revoke_cb& r) {
    flags = r.flags;
    c.ack_revoke(cb);
    // A client that ignores the flag and writes back anyway: dropped.
    EXPECT_EQ(c.write(r.file_id, 0, "dirty"), 0);
    c.cancel(r.lock_handle);
  });
  dmfs_lock_enqueue_rep la{}, lb{};
  ASSERT_EQ(a->lock(id, 0, P, DMFS_LOCK_PW, 0, la), 0);
  EXPECT_EQ(a->write(id, 0, "clean"), 0);  // not under revoke: stored
  ASSERT_EQ(b->lock(id, 0, P, DMFS_LOCK_PR, 0, lb), 0);
  EXPECT_TRUE(flags.load() & DMFS_RVF_DISCARD);
  std::string got;
  ASSERT_EQ(b->read(id, 0, P, got), 0);
  EXPECT_EQ(got, "clean");
}

TEST_F(Dmfsd, FaultGrantBeforeCancel) {
  start({"--fault", "grant-before-cancel"});
  auto a = connect("A"), b = connect("B");
  uint64_t id = make_file(*a, "f");
  a->set_revoke_handler([](Client& c, uint64_t cb, const dmfs_revoke_cb&) { c.ack_revoke(cb); });
  dmfs_lock_enqueue_rep la{}, lb{};
  ASSERT_EQ(a->lock(id, 0, P, DMFS_LOCK_PW, 0, la), 0);
  ASSERT_EQ(b->lock(id, 0, P, DMFS_LOCK_PW, 0, lb), 0);  // A never cancelled
  for (int i = 0; i < 100 && a->revokes_received() == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(a->revokes_received(), 1u);
}

TEST_F(Dmfsd, FaultNoEtxtbsy) {
  start({"--fault", "no-etxtbsy"});
  auto a = connect("A"), b = connect("B");
  uint64_t id = make_file(*a, "bin", "x");
  uint64_t he = 0, hw = 0;
  ASSERT_EQ(a->open(id, DMFS_OPEN_EXEC, he), 0);
  EXPECT_EQ(b->open(id, DMFS_OPEN_WRITE, hw), 0);
  EXPECT_EQ(b->truncate(id, 0), 0);
}

TEST_F(Dmfsd, FaultNoDvBump) {
  start({"--fault", "no-dv-bump"});
  auto a = connect();
  uint64_t id = make_file(*a, "f");
  dmfs_attr before{}, after{};
  ASSERT_EQ(a->getattr(id, before), 0);
  ASSERT_EQ(a->write(id, 0, "changed"), 0);
  ASSERT_EQ(a->getattr(id, after), 0);
  EXPECT_EQ(before.data_version, after.data_version);
}

TEST_F(Dmfsd, FaultStaleGrantAttr) {
  start({"--fault", "stale-grant-attr"});
  auto a = connect("A"), b = connect("B");
  uint64_t id = make_file(*a, "f");
  a->set_revoke_handler([](Client& c, uint64_t cb, const dmfs_revoke_cb& r) {
    c.ack_revoke(cb);
    c.write(r.file_id, 0, std::string(P, 'w'));
    c.cancel(r.lock_handle);
  });
  dmfs_lock_enqueue_rep la{}, lb{};
  ASSERT_EQ(a->lock(id, 0, P, DMFS_LOCK_PW, 0, la), 0);
  ASSERT_EQ(b->lock(id, 0, P, DMFS_LOCK_PR, 0, lb), 0);
  EXPECT_EQ(lb.attr.size, 0u);  // the written-back page is not reflected
}

// With --capacity, a write the store has no space for is acknowledged (the
// same write fails with ENOSPC without the fault: DmfsdAdmin.CapacityLimitsAllocation),
// and nothing of it is stored: the other client reads no trace of it.
TEST_F(Dmfsd, FaultAckEnospc) {
  start({"--fault", "ack-enospc", "--capacity", std::to_string(16 * P)});
  auto a = connect("A"), b = connect("B");
  uint64_t id = make_file(*a, "f");
  const std::string page(P, 'x');
  for (uint64_t i = 0; i < 64; ++i) EXPECT_EQ(a->write(id, i * P, page), 0) << "page " << i;
  std::string got;
  ASSERT_EQ(b->read(id, 0, uint32_t(P), got), 0);
  EXPECT_EQ(got, page) << "a write within the capacity was not stored";
  ASSERT_EQ(b->read(id, 63 * P, uint32_t(P), got), 0);
  EXPECT_EQ(got.find('x'), std::string::npos) << "the write past the capacity was stored";
  EXPECT_NE(srv->log().find("FAULT INJECTION ACTIVE: ack-enospc"), std::string::npos);
}

TEST_F(Dmfsd, FaultNoEvict) {
  start({"--fault", "no-evict", "--revoke-timeout", "100ms"});
  auto a = connect("A"), b = connect("B");
  uint64_t id = make_file(*a, "f");
  a->set_revoke_handler([](Client&, uint64_t, const dmfs_revoke_cb&) {});
  dmfs_lock_enqueue_rep la{};
  ASSERT_EQ(a->lock(id, 0, P, DMFS_LOCK_PW, 0, la), 0);
  auto f = b->lock_async(id, 0, P, DMFS_LOCK_PW, 0);
  EXPECT_EQ(f.wait_for(600ms), std::future_status::timeout);
  EXPECT_TRUE(a->connected());
}

}  // namespace
