#include "interval_tree.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <tuple>

using dmfs::lk::IntervalTree;

TEST(IntervalTree, MatchesBruteForce) {
  std::mt19937_64 rng(7);
  IntervalTree<int> t;
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> model;  // (start,id) -> end
  uint64_t id = 0;
  for (int step = 0; step < 20000; ++step) {
    if (model.empty() || rng() % 3) {
      uint64_t s = rng() % 1000, e = s + 1 + rng() % 100;
      t.insert(s, e, ++id, 0);
      model[{s, id}] = e;
    } else {
      auto it = model.begin();
      std::advance(it, rng() % model.size());
      ASSERT_TRUE(t.erase(it->first.first, it->first.second));
      model.erase(it);
    }
    ASSERT_EQ(t.size(), model.size());
    if (step % 50) continue;
    uint64_t qs = rng() % 1100, qe = qs + 1 + rng() % 200;
    std::vector<uint64_t> got, want;
    t.for_each_overlap(qs, qe, [&](const auto& n) {
      got.push_back(n.id);
      return true;
    });
    for (auto& [k, e] : model)
      if (k.first < qe && qs < e) want.push_back(k.second);
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    ASSERT_EQ(got, want);
    uint64_t me = 0, ms = UINT64_MAX;
    for (auto& [k, e] : model) {
      if (k.first < qs) me = std::max(me, e);
      if (k.first >= qs) ms = std::min(ms, k.first);
    }
    ASSERT_EQ(t.max_end_before(qs), me);
    ASSERT_EQ(t.min_start_from(qs), ms);
  }
  EXPECT_FALSE(t.erase(5000, 1));
}
