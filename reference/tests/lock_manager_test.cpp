// Unit tests of the extent-lock manager (no networking).
#include "lock_manager.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

using namespace dmfs::lk;
using namespace std::chrono_literals;

namespace {

constexpr uint64_t P = 4096;
constexpr FileId F = 42;

struct LM : ::testing::Test {
  Config cfg;
  std::unique_ptr<LockManager> lm;
  TimePoint now = TimePoint{} + 1000s;
  uint64_t next_token = 1;
  bool keep_contention = false;
  void random_run();
  Actions a;

  void SetUp() override { make(); }
  void make() {
    cfg.revoke_timeout = 1000ms;
    if (!keep_contention) cfg.contention_window = 0ms;  // most tests: plain expansion
    lm = std::make_unique<LockManager>(cfg);
  }
  LockManager::Outcome enq(ClientId c, uint64_t s, uint64_t e, Mode m, uint32_t flags = 0, FileId f = F) {
    a.clear();
    return lm->enqueue(c, f, s, e, m, flags, next_token++, now, a);
  }
  // Grants one lock and returns its handle (asserts it was granted at once).
  uint64_t take(ClientId c, uint64_t s, uint64_t e, Mode m, uint32_t flags = 0, FileId f = F) {
    auto o = enq(c, s, e, m, flags, f);
    EXPECT_EQ(o, LockManager::Outcome::granted);
    EXPECT_EQ(a.grants.size(), 1u);
    return a.grants.empty() ? 0 : a.grants[0].handle;
  }
};

TEST_F(LM, CompatibilityMatrix) {
  EXPECT_TRUE(compatible(Mode::PR, Mode::PR));
  EXPECT_FALSE(compatible(Mode::PR, Mode::PW));
  EXPECT_FALSE(compatible(Mode::PW, Mode::PR));
  EXPECT_FALSE(compatible(Mode::PW, Mode::PW));
  // Exercise the matrix through the manager, NOEXPAND, overlapping ranges.
  for (Mode held : {Mode::PR, Mode::PW})
    for (Mode want : {Mode::PR, Mode::PW}) {
      make();
      take(1, 0, 2 * P, held, kNoExpand);
      auto o = enq(2, P, 3 * P, want, kNoExpand);
      if (compatible(held, want)) {
        EXPECT_EQ(o, LockManager::Outcome::granted) << mode_name(held) << "/" << mode_name(want);
        EXPECT_TRUE(a.revokes.empty());
      } else {
        EXPECT_EQ(o, LockManager::Outcome::queued) << mode_name(held) << "/" << mode_name(want);
        ASSERT_EQ(a.revokes.size(), 1u);
        EXPECT_EQ(a.revokes[0].client, 1u);
      }
      // Disjoint ranges never conflict.
      EXPECT_EQ(enq(3, 10 * P, 11 * P, Mode::PW, kNoExpand), LockManager::Outcome::granted);
    }
}

TEST_F(LM, ExpandsToWholeFileWhenAlone) {
  enq(1, 5 * P, 6 * P, Mode::PW);
  ASSERT_EQ(a.grants.size(), 1u);
  EXPECT_EQ(a.grants[0].start, 0u);
  EXPECT_EQ(a.grants[0].end, kEOF);
  EXPECT_TRUE(a.grants[0].expanded);
}

TEST_F(LM, ContentionLimitsExpansionForAWhile) {
  keep_contention = true;
  cfg.contention_window = 2000ms;
  cfg.contended_granule = 16 * P;
  make();
  uint64_t h = take(1, 0, P, Mode::PW);
  EXPECT_EQ(enq(2, 40 * P, 41 * P, Mode::PW), LockManager::Outcome::queued);  // revokes client 1
  a.clear();
  lm->cancel(1, h, now, a);
  ASSERT_EQ(a.grants.size(), 1u);
  // Contended: the grant covers the request's 16-page granule only.
  EXPECT_EQ(a.grants[0].start, 32 * P);
  EXPECT_EQ(a.grants[0].end, 48 * P);
  EXPECT_TRUE(a.grants[0].expanded);
  // A request reaching EOF stays at EOF.
  now += 100ms;
  enq(3, 100 * P, kEOF, Mode::PR);
  ASSERT_EQ(a.grants.size(), 1u);
  EXPECT_EQ(a.grants[0].start, 96 * P);
  EXPECT_EQ(a.grants[0].end, kEOF);
  // Once the window has passed, grants expand fully again.
  now += 2000ms;
  enq(4, 60 * P, 61 * P, Mode::PW);
  ASSERT_EQ(a.grants.size(), 1u);
  EXPECT_EQ(a.grants[0].start, 48 * P);
  EXPECT_EQ(a.grants[0].end, 96 * P);
}

TEST_F(LM, NoExpandFlagGrantsExactly) {
  enq(1, 5 * P, 6 * P, Mode::PW, kNoExpand);
  ASSERT_EQ(a.grants.size(), 1u);
  EXPECT_EQ(a.grants[0].start, 5 * P);
  EXPECT_EQ(a.grants[0].end, 6 * P);
  EXPECT_FALSE(a.grants[0].expanded);
}

TEST_F(LM, ExpansionStopsAtConflictingLocks) {
  take(1, 10 * P, 20 * P, Mode::PW, kNoExpand);
  take(1, 40 * P, 50 * P, Mode::PW, kNoExpand);
  // PR between the two PW locks: expands to the gap [20P, 40P).
  enq(2, 25 * P, 26 * P, Mode::PR);
  ASSERT_EQ(a.grants.size(), 1u);
  EXPECT_EQ(a.grants[0].start, 20 * P);
  EXPECT_EQ(a.grants[0].end, 40 * P);
  // A second PR overlapping the first expands over it (compatible) up to the PW locks.
  enq(3, 30 * P, 31 * P, Mode::PR);
  ASSERT_EQ(a.grants.size(), 1u);
  EXPECT_EQ(a.grants[0].start, 20 * P);
  EXPECT_EQ(a.grants[0].end, 40 * P);
  // PW right of everything: up to EOF, from the end of the last conflicting lock.
  enq(4, 60 * P, 61 * P, Mode::PW);
  ASSERT_EQ(a.grants.size(), 1u);
  EXPECT_EQ(a.grants[0].start, 50 * P);
  EXPECT_EQ(a.grants[0].end, kEOF);
}

TEST_F(LM, PwExpansionAvoidsPrHolders) {
  take(1, 0, 4 * P, Mode::PR, kNoExpand);
  take(2, 100 * P, 104 * P, Mode::PR, kNoExpand);
  enq(3, 50 * P, 51 * P, Mode::PW);
  ASSERT_EQ(a.grants.size(), 1u);
  EXPECT_EQ(a.grants[0].start, 4 * P);
  EXPECT_EQ(a.grants[0].end, 100 * P);
}

TEST_F(LM, RevokeThenGrantAfterCancel) {
  uint64_t h1 = take(1, 0, P, Mode::PW);  // expanded to whole file
  auto o = enq(2, 0, P, Mode::PR);
  EXPECT_EQ(o, LockManager::Outcome::queued);
  ASSERT_EQ(a.revokes.size(), 1u);
  EXPECT_EQ(a.revokes[0].handle, h1);
  EXPECT_EQ(a.revokes[0].start, 0u);
  EXPECT_EQ(a.revokes[0].end, kEOF);
  EXPECT_EQ(a.revokes[0].conflict_start, 0u);
  EXPECT_EQ(a.revokes[0].conflict_end, P);
  EXPECT_EQ(a.revokes[0].conflict_mode, Mode::PR);
  // A second conflicting request does not revoke the same lock again.
  EXPECT_EQ(enq(3, 0, P, Mode::PW), LockManager::Outcome::queued);
  EXPECT_TRUE(a.revokes.empty());
  a.clear();
  EXPECT_EQ(lm->cancel(1, h1, now, a), 0);
  ASSERT_EQ(a.grants.size(), 1u);
  EXPECT_EQ(a.grants[0].client, 2u);
  // Client 2's PR is granted; client 3's PW (behind it) conflicts with it, so
  // the fresh PR lock is revoked at once.
  ASSERT_EQ(a.revokes.size(), 1u);
  EXPECT_EQ(a.revokes[0].client, 2u);
  EXPECT_EQ(a.revokes[0].handle, a.grants[0].handle);
  // The PR grant does not expand over the waiting PW request.
  EXPECT_EQ(a.grants[0].start, 0u);
  EXPECT_EQ(a.grants[0].end, P);
  uint64_t h2 = a.grants[0].handle;
  a.clear();
  EXPECT_EQ(lm->cancel(2, h2, now, a), 0);
  ASSERT_EQ(a.grants.size(), 1u);
  EXPECT_EQ(a.grants[0].client, 3u);
  EXPECT_TRUE(a.revokes.empty());
}

TEST_F(LM, CancelUnknownOrForeignHandle) {
  uint64_t h = take(1, 0, P, Mode::PW);
  a.clear();
  EXPECT_EQ(lm->cancel(2, h, now, a), -ENOLCK);
  EXPECT_EQ(lm->cancel(1, h + 1000, now, a), -ENOLCK);
  EXPECT_EQ(lm->cancel(1, h, now, a), 0);
  EXPECT_EQ(lm->cancel(1, h, now, a), -ENOLCK);
  EXPECT_EQ(lm->total_locks(), 0u);
}

TEST_F(LM, OwnConflictingLockIsRevokedToo) {
  uint64_t h = take(1, 0, P, Mode::PR);
  EXPECT_EQ(enq(1, 0, P, Mode::PW), LockManager::Outcome::queued);
  ASSERT_EQ(a.revokes.size(), 1u);
  EXPECT_EQ(a.revokes[0].handle, h);
  a.clear();
  EXPECT_EQ(lm->cancel(1, h, now, a), 0);
  ASSERT_EQ(a.grants.size(), 1u);
  EXPECT_EQ(a.grants[0].mode, Mode::PW);
}

TEST_F(LM, SharedReadersAllRevokedForWriter) {
  std::vector<uint64_t> hs;
  for (ClientId c = 1; c <= 5; ++c) hs.push_back(take(c, 0, P, Mode::PR));
  EXPECT_EQ(enq(9, 0, P, Mode::PW), LockManager::Outcome::queued);
  EXPECT_EQ(a.revokes.size(), 5u);
  for (ClientId c = 1; c <= 5; ++c) {
    a.clear();
    EXPECT_EQ(lm->cancel(c, hs[c - 1], now, a), 0);
    if (c < 5) {
      EXPECT_TRUE(a.grants.empty()) << "granted before the last reader cancelled";
    }
  }
  ASSERT_EQ(a.grants.size(), 1u);
  EXPECT_EQ(a.grants[0].client, 9u);
}

TEST_F(LM, NoWaitReturnsWouldBlockWithoutRevoking) {
  take(1, 0, P, Mode::PW);
  EXPECT_EQ(enq(2, 0, P, Mode::PR, kNoWait), LockManager::Outcome::would_block);
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(lm->waiting_count(F), 0u);
}

TEST_F(LM, FifoNoOvertakingByCompatibleLateComers) {
  // Reader holds; a writer waits; a later reader (compatible with the holder)
  // must not overtake the writer, or writers could starve.
  uint64_t h1 = take(1, 0, P, Mode::PR, kNoExpand);
  EXPECT_EQ(enq(2, 0, P, Mode::PW, kNoExpand), LockManager::Outcome::queued);
  EXPECT_EQ(enq(3, 0, P, Mode::PR, kNoExpand), LockManager::Outcome::queued);
  EXPECT_EQ(lm->waiting_count(F), 2u);
  a.clear();
  lm->cancel(1, h1, now, a);
  ASSERT_EQ(a.grants.size(), 1u);
  EXPECT_EQ(a.grants[0].client, 2u);
  uint64_t h2 = a.grants[0].handle;
  ASSERT_EQ(a.revokes.size(), 1u);  // writer's fresh lock revoked for the reader behind
  a.clear();
  lm->cancel(2, h2, now, a);
  ASSERT_EQ(a.grants.size(), 1u);
  EXPECT_EQ(a.grants[0].client, 3u);
}

TEST_F(LM, FairnessUnderContentionServesInArrivalOrder) {
  // Many clients ask for PW on the same page; each grant goes to the next in
  // line, whatever the mix of modes.
  uint64_t h = take(100, 0, P, Mode::PW);
  std::vector<ClientId> order;
  for (ClientId c = 1; c <= 20; ++c)
    EXPECT_EQ(enq(c, 0, P, (c % 3) ? Mode::PW : Mode::PR), LockManager::Outcome::queued);
  ClientId holder = 100;
  for (int i = 0; i < 20; ++i) {
    a.clear();
    ASSERT_EQ(lm->cancel(holder, h, now, a), 0);
    ASSERT_GE(a.grants.size(), 1u);
    holder = a.grants[0].client;
    h = a.grants[0].handle;
    order.push_back(holder);
    if (a.grants.size() > 1) {
      // Consecutive PR waiters may be granted together; take them in order.
      for (size_t g = 1; g < a.grants.size(); ++g) order.push_back(a.grants[g].client);
      // Cancel the extra ones so the loop continues with the last holder.
      for (size_t g = 0; g + 1 < a.grants.size(); ++g) {
        Actions b;
        ASSERT_EQ(lm->cancel(a.grants[g].client, a.grants[g].handle, now, b), 0);
      }
      holder = a.grants.back().client;
      h = a.grants.back().handle;
      i += int(a.grants.size()) - 1;
    }
  }
  std::vector<ClientId> want;
  for (ClientId c = 1; c <= 20; ++c) want.push_back(c);
  EXPECT_EQ(order, want);
}

TEST_F(LM, ConsecutiveReadersGrantedTogether) {
  uint64_t h = take(1, 0, P, Mode::PW);
  enq(2, 0, P, Mode::PR);
  enq(3, 0, P, Mode::PR);
  enq(4, 0, P, Mode::PW);
  a.clear();
  lm->cancel(1, h, now, a);
  ASSERT_EQ(a.grants.size(), 2u);
  EXPECT_EQ(a.grants[0].client, 2u);
  EXPECT_EQ(a.grants[1].client, 3u);
  EXPECT_EQ(a.revokes.size(), 2u);  // both for the PW waiter behind them
}

TEST_F(LM, DisjointWaiterNotBlockedByUnrelatedQueue) {
  take(1, 0, P, Mode::PW, kNoExpand);
  EXPECT_EQ(enq(2, 0, P, Mode::PW, kNoExpand), LockManager::Outcome::queued);
  // Another range is free: granted immediately.
  EXPECT_EQ(enq(3, 8 * P, 9 * P, Mode::PW, kNoExpand), LockManager::Outcome::granted);
}

TEST_F(LM, EvictionAfterTimeoutDropsLocks) {
  uint64_t h1 = take(1, 0, P, Mode::PW);
  take(1, 0, P, Mode::PW, 0, F + 1);  // another file
  enq(2, 0, P, Mode::PW);
  ASSERT_EQ(a.revokes.size(), 1u);
  EXPECT_TRUE(lm->expired(now + 999ms).empty());
  ASSERT_TRUE(lm->next_deadline().has_value());
  EXPECT_EQ(*lm->next_deadline(), now + 1000ms);
  auto ex = lm->expired(now + 1000ms);
  ASSERT_EQ(ex, std::vector<ClientId>{1});
  a.clear();
  lm->drop_client(1, now + 1000ms, a);
  ASSERT_EQ(a.grants.size(), 1u);
  EXPECT_EQ(a.grants[0].client, 2u);
  EXPECT_FALSE(lm->is_granted(h1));
  EXPECT_EQ(lm->granted_count(F + 1), 0u);
  EXPECT_FALSE(lm->next_deadline().has_value());
}

TEST_F(LM, RevokingQuery) {
  uint64_t h = take(1, 0, P, Mode::PW);
  EXPECT_FALSE(lm->revoking(1, F));
  enq(2, 0, P, Mode::PW);
  EXPECT_TRUE(lm->revoking(1, F));
  EXPECT_FALSE(lm->revoking(2, F));
  EXPECT_FALSE(lm->revoking(1, F + 1));
  a.clear();
  lm->cancel(1, h, now, a);
  EXPECT_FALSE(lm->revoking(1, F));
}

TEST_F(LM, ProlongRestartsDeadline) {
  take(1, 0, P, Mode::PW);
  enq(2, 0, P, Mode::PW);
  lm->prolong(1, F, now + 900ms);
  EXPECT_TRUE(lm->expired(now + 1500ms).empty());
  EXPECT_EQ(lm->expired(now + 1900ms), std::vector<ClientId>{1});
  lm->prolong(1, F + 7, now + 1800ms);  // other file: no effect
  EXPECT_EQ(lm->expired(now + 1900ms), std::vector<ClientId>{1});
}

TEST_F(LM, WithdrawWaiterUnblocksThoseBehind) {
  uint64_t h = take(1, 0, P, Mode::PR, kNoExpand);
  enq(2, 0, P, Mode::PW, kNoExpand);
  uint64_t tok2 = next_token - 1;
  EXPECT_EQ(enq(3, 0, P, Mode::PR, kNoExpand), LockManager::Outcome::queued);
  a.clear();
  EXPECT_EQ(lm->withdraw(2, tok2, now, a), 0);
  ASSERT_EQ(a.grants.size(), 1u);
  EXPECT_EQ(a.grants[0].client, 3u);
  EXPECT_EQ(lm->withdraw(2, tok2, now, a), -ENOLCK);
  (void)h;
}

TEST_F(LM, DropClientRemovesWaitersToo) {
  uint64_t h = take(1, 0, P, Mode::PW);
  enq(2, 0, P, Mode::PW);
  enq(3, 0, P, Mode::PW);
  a.clear();
  lm->drop_client(2, now, a);
  EXPECT_TRUE(a.empty());
  a.clear();
  lm->cancel(1, h, now, a);
  ASSERT_EQ(a.grants.size(), 1u);
  EXPECT_EQ(a.grants[0].client, 3u);
}

TEST_F(LM, TooManyWaitersPerClient) {
  cfg.max_waiting_per_client = 3;
  make();
  take(1, 0, P, Mode::PW, kNoExpand);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(enq(2, 0, P, Mode::PR), LockManager::Outcome::queued);
  EXPECT_EQ(enq(2, 0, P, Mode::PR), LockManager::Outcome::too_many);
}

TEST_F(LM, TooManyLocksPerClient) {
  cfg.max_locks_per_client = 4;
  make();
  for (uint64_t i = 0; i < 4; ++i) take(1, i * P, (i + 1) * P, Mode::PW, kNoExpand);
  EXPECT_EQ(enq(1, 9 * P, 10 * P, Mode::PW, kNoExpand), LockManager::Outcome::too_many);
  EXPECT_EQ(enq(2, 9 * P, 10 * P, Mode::PW, kNoExpand), LockManager::Outcome::granted);
}

TEST_F(LM, FaultNoRevokeGrantsOverHolders) {
  cfg.fault_no_revoke = true;
  make();
  take(1, 0, P, Mode::PW);
  EXPECT_EQ(enq(2, 0, P, Mode::PW), LockManager::Outcome::granted);
  EXPECT_TRUE(a.revokes.empty());
}

TEST_F(LM, FaultGrantBeforeCancelRevokesButGrants) {
  cfg.fault_grant_before_cancel = true;
  make();
  take(1, 0, P, Mode::PW);
  EXPECT_EQ(enq(2, 0, P, Mode::PW), LockManager::Outcome::granted);
  EXPECT_EQ(a.revokes.size(), 1u);
}

TEST_F(LM, FaultNoEvictNeverExpires) {
  cfg.fault_no_evict = true;
  make();
  take(1, 0, P, Mode::PW);
  enq(2, 0, P, Mode::PW);
  EXPECT_TRUE(lm->expired(now + 1000s).empty());
}

// Randomised check of the invariants against a brute-force model: granted
// locks never conflict, grants contain their requests, and every waiter is
// blocked by a granted conflicting lock or an earlier conflicting waiter.
TEST_F(LM, RandomisedInvariants) { random_run(); }

TEST_F(LM, RandomisedInvariantsWithContentionLimit) {
  keep_contention = true;
  cfg.contention_window = 50ms;
  cfg.contended_granule = 4 * P;
  make();
  random_run();
}

void LM::random_run() {
  std::mt19937_64 rng(12345);
  struct Req {
    ClientId c;
    uint64_t s, e;
    Mode m;
  };
  std::map<uint64_t, Req> pending;                            // token -> request
  std::map<uint64_t, std::pair<ClientId, uint64_t>> granted;  // handle -> (client, token)
  for (int step = 0; step < 4000; ++step) {
    now += std::chrono::milliseconds(rng() % 20);
    int op = int(rng() % 10);
    a.clear();
    if (op < 6) {
      ClientId c = 1 + rng() % 6;
      uint64_t s = (rng() % 32) * P, e = s + (1 + rng() % 8) * P;
      if (rng() % 8 == 0) e = kEOF;
      Mode m = (rng() % 2) ? Mode::PW : Mode::PR;
      uint32_t fl = (rng() % 3 == 0) ? uint32_t(kNoExpand) : 0u;
      uint64_t tok = next_token++;
      auto o = lm->enqueue(c, F, s, e, m, fl, tok, now, a);
      if (o == LockManager::Outcome::queued || o == LockManager::Outcome::granted) pending[tok] = Req{c, s, e, m};
    } else if (op < 9 && !granted.empty()) {
      auto it = granted.begin();
      std::advance(it, rng() % granted.size());
      ASSERT_EQ(lm->cancel(it->second.first, it->first, now, a), 0);
      granted.erase(it);
    } else {
      ClientId c = 1 + rng() % 6;
      lm->drop_client(c, now, a);
      for (auto it = granted.begin(); it != granted.end();)
        it = it->second.first == c ? granted.erase(it) : std::next(it);
      for (auto it = pending.begin(); it != pending.end();) it = it->second.c == c ? pending.erase(it) : std::next(it);
    }
    for (auto& g : a.grants) {
      auto p = pending.find(g.token);
      ASSERT_NE(p, pending.end());
      EXPECT_LE(g.start, p->second.s);
      EXPECT_GE(g.end, p->second.e);
      EXPECT_EQ(g.mode, p->second.m);
      granted[g.handle] = {g.client, g.token};
      pending.erase(p);
    }
    auto all = lm->locks(F);
    std::vector<LockInfo> gr, wt;
    for (auto& l : all) (l.granted ? gr : wt).push_back(l);
    ASSERT_EQ(gr.size(), granted.size());
    for (size_t i = 0; i < gr.size(); ++i)
      for (size_t j = i + 1; j < gr.size(); ++j)
        if (overlaps(gr[i].start, gr[i].end, gr[j].start, gr[j].end)) {
          ASSERT_TRUE(compatible(gr[i].mode, gr[j].mode)) << "conflicting grants at step " << step;
        }
    for (size_t i = 0; i < wt.size(); ++i) {
      bool blocked = false;
      for (auto& g : gr)
        if (overlaps(g.start, g.end, wt[i].start, wt[i].end) && !compatible(g.mode, wt[i].mode)) {
          blocked = true;
          // A holder blocking a waiter must have been asked to give it up.
          EXPECT_TRUE(g.revoking) << "step " << step;
        }
      for (size_t j = 0; j < i && !blocked; ++j)
        if (overlaps(wt[j].start, wt[j].end, wt[i].start, wt[i].end) && !compatible(wt[j].mode, wt[i].mode))
          blocked = true;
      ASSERT_TRUE(blocked) << "waiter not blocked at step " << step;
    }
  }
}

}  // namespace
