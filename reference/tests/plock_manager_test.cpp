// Unit tests of the application-lock manager (fcntl/flock semantics).
#include "plock_manager.hpp"

#include <gtest/gtest.h>

using namespace dmfs::lk;

namespace {

struct PL : ::testing::Test {
  PLockManager m;
  std::vector<PGrant> g;
  uint64_t tok = 1;
  PLockManager::Result set(ClientId c, uint64_t o, uint64_t s, uint64_t e, PType t, bool wait = false, FileId f = 1,
                           bool fl = false) {
    g.clear();
    return m.request(c, o, f, fl, s, e, t, uint32_t(c * 100 + o), wait, tok++, g);
  }
};

using R = PLockManager::Result;

TEST_F(PL, ReadersShareWritersExclude) {
  EXPECT_EQ(set(1, 1, 0, 10, PType::RD), R::set);
  EXPECT_EQ(set(2, 1, 5, 15, PType::RD), R::set);
  EXPECT_EQ(set(3, 1, 0, 1, PType::WR), R::conflict);
  EXPECT_EQ(set(3, 1, 15, 20, PType::WR), R::set);  // disjoint
  // Same client, other owner: conflicts like anyone (two processes on a node).
  EXPECT_EQ(set(1, 2, 0, 1, PType::WR), R::conflict);
  // The owner itself never conflicts with its own locks.
  EXPECT_EQ(set(3, 1, 15, 20, PType::RD), R::set);
}

TEST_F(PL, UnlockSplitsAndReplaceConverts) {
  ASSERT_EQ(set(1, 1, 0, 100, PType::WR), R::set);
  ASSERT_EQ(set(1, 1, 40, 60, PType::UN), R::set);
  auto l = m.locks(1, false);
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].start, 0u);
  EXPECT_EQ(l[0].end, 40u);
  EXPECT_EQ(l[1].start, 60u);
  EXPECT_EQ(l[1].end, 100u);
  EXPECT_EQ(set(2, 1, 40, 60, PType::WR), R::set);
  ASSERT_EQ(set(2, 1, 40, 60, PType::UN), R::set);
  // Convert part of the write lock to a read lock; merge adjacent same type.
  ASSERT_EQ(set(1, 1, 60, 80, PType::RD), R::set);
  ASSERT_EQ(set(1, 1, 40, 60, PType::WR), R::set);  // fills the hole: merges with [0,40)
  l = m.locks(1, false);
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[0].start, 0u);
  EXPECT_EQ(l[0].end, 60u);
  EXPECT_EQ(l[0].type, PType::WR);
  EXPECT_EQ(l[1].type, PType::RD);
  EXPECT_EQ(l[2].start, 80u);
  EXPECT_EQ(set(2, 1, 60, 80, PType::RD), R::set);
  EXPECT_EQ(set(2, 1, 79, 81, PType::RD), R::conflict);
  ASSERT_EQ(set(1, 1, 0, kEOF, PType::UN), R::set);
  EXPECT_EQ(m.locks(1, false).size(), 1u);  // only client 2's
}

TEST_F(PL, WaitersServedWhenReleased) {
  ASSERT_EQ(set(1, 1, 0, 8, PType::WR), R::set);
  ASSERT_EQ(set(2, 1, 0, 8, PType::WR, true), R::queued);
  uint64_t t2 = tok - 1;
  ASSERT_EQ(set(3, 1, 0, 8, PType::WR, true), R::queued);
  uint64_t t3 = tok - 1;
  EXPECT_EQ(m.waiting(1, false), 2u);
  ASSERT_EQ(set(1, 1, 0, 8, PType::UN), R::set);
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].client, 2u);
  EXPECT_EQ(g[0].token, t2);
  ASSERT_EQ(set(2, 1, 0, kEOF, PType::UN), R::set);
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].token, t3);
}

TEST_F(PL, ReadersWokenTogether) {
  ASSERT_EQ(set(1, 1, 0, 8, PType::WR), R::set);
  ASSERT_EQ(set(2, 1, 0, 8, PType::RD, true), R::queued);
  ASSERT_EQ(set(3, 1, 0, 8, PType::RD, true), R::queued);
  ASSERT_EQ(set(1, 1, 0, 8, PType::UN), R::set);
  EXPECT_EQ(g.size(), 2u);
}

TEST_F(PL, DeadlockDetectedAcrossFiles) {
  ASSERT_EQ(set(1, 1, 0, 1, PType::WR, false, 10), R::set);
  ASSERT_EQ(set(2, 1, 0, 1, PType::WR, false, 20), R::set);
  ASSERT_EQ(set(1, 1, 0, 1, PType::WR, true, 20), R::queued);    // 1 waits for 2
  EXPECT_EQ(set(2, 1, 0, 1, PType::WR, true, 10), R::deadlock);  // 2 would wait for 1
  // A third party waiting is no deadlock.
  EXPECT_EQ(set(3, 1, 0, 1, PType::WR, true, 10), R::queued);
}

TEST_F(PL, WithdrawAndDropClient) {
  ASSERT_EQ(set(1, 1, 0, 8, PType::WR), R::set);
  ASSERT_EQ(set(2, 1, 0, 8, PType::WR, true), R::queued);
  uint64_t t2 = tok - 1;
  ASSERT_EQ(set(3, 1, 0, 8, PType::RD, true), R::queued);
  g.clear();
  EXPECT_EQ(m.withdraw(2, t2, g), 0);
  EXPECT_TRUE(g.empty());
  EXPECT_EQ(m.withdraw(2, t2, g), -ENOLCK);
  m.drop_client(1, g);
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].client, 3u);
  m.drop_client(3, g);
  EXPECT_TRUE(m.locks(1, false).empty());
}

TEST_F(PL, FlockSpaceIsIndependentAndWholeFile) {
  ASSERT_EQ(set(1, 1, 0, 8, PType::WR), R::set);                           // fcntl
  EXPECT_EQ(set(2, 1, 100, 101, PType::WR, false, 1, true), R::set);       // flock: other space
  EXPECT_EQ(set(3, 1, 500, 501, PType::RD, false, 1, true), R::conflict);  // whole file
  auto l = m.locks(1, true);
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].start, 0u);
  EXPECT_EQ(l[0].end, kEOF);
}

TEST_F(PL, TestReportsConflict) {
  ASSERT_EQ(set(1, 7, 10, 20, PType::WR), R::set);
  auto c = m.test(2, 1, 1, false, 0, 15, PType::RD);
  EXPECT_EQ(c.type, PType::WR);
  EXPECT_EQ(c.client, 1u);
  EXPECT_EQ(c.owner, 7u);
  EXPECT_EQ(c.start, 10u);
  EXPECT_EQ(c.pid, 107u);
  EXPECT_EQ(m.test(2, 1, 1, false, 20, 30, PType::WR).type, PType::UN);
  EXPECT_EQ(m.test(1, 7, 1, false, 0, 30, PType::WR).type, PType::UN);  // own lock
}

TEST_F(PL, Limits) {
  PConfig cfg;
  cfg.max_locks_per_client = 2;
  cfg.max_waiting_per_client = 1;
  m = PLockManager(cfg);
  ASSERT_EQ(set(1, 1, 0, 1, PType::WR), R::set);
  ASSERT_EQ(set(1, 1, 2, 3, PType::WR), R::set);
  EXPECT_EQ(set(1, 1, 4, 5, PType::WR), R::too_many);
  EXPECT_EQ(set(1, 1, 1, 2, PType::WR), R::too_many);  // would merge, but counted first
  ASSERT_EQ(set(2, 1, 0, 1, PType::WR, true), R::queued);
  EXPECT_EQ(set(2, 1, 2, 3, PType::WR, true), R::too_many);
}

TEST_F(PL, FaultIgnoreConflicts) {
  PConfig cfg;
  cfg.fault_ignore_conflicts = true;
  m = PLockManager(cfg);
  ASSERT_EQ(set(1, 1, 0, 8, PType::WR), R::set);
  EXPECT_EQ(set(2, 1, 0, 8, PType::WR), R::set);
}

}  // namespace
