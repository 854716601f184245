// GlimpseTracker: when a glimpse completes, and what it concludes.
#include "glimpse_tracker.hpp"

#include <gtest/gtest.h>

namespace dmfs::lk {
namespace {

const TimePoint t0{};
const TimePoint deadline = t0 + std::chrono::seconds(30);

TEST(GlimpseTracker, WithoutHoldersFinishesAtOnce) {
  GlimpseTracker g;
  uint64_t id = 0;
  auto r = g.start(1, 77, 5, {}, deadline, id);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->requester, 1u);
  EXPECT_EQ(r->token, 77u);
  EXPECT_FALSE(r->unwritten);
  EXPECT_EQ(g.in_flight(), 0u);
}

TEST(GlimpseTracker, FinishesWhenTheLastHolderAnswers) {
  GlimpseTracker g;
  uint64_t id = 0;
  EXPECT_FALSE(g.start(1, 77, 5, {2, 3}, deadline, id));
  EXPECT_FALSE(g.answer(id, 2, GlimpseReport{9000, 4}));
  EXPECT_FALSE(g.answer(id, 2, GlimpseReport{99999, 4})) << "a second answer of one holder counts once";
  auto r = g.answer(id, 3, GlimpseReport{100, 0});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size, 9000u);
  EXPECT_TRUE(r->unwritten);
  EXPECT_TRUE(r->modified);
}

TEST(GlimpseTracker, TheSameModificationIsNotNewTwice) {
  GlimpseTracker g;
  uint64_t id = 0;
  g.start(1, 1, 5, {2}, deadline, id);
  EXPECT_TRUE(g.answer(id, 2, GlimpseReport{10, 4})->modified);
  g.start(1, 2, 5, {2}, deadline, id);
  auto again = g.answer(id, 2, GlimpseReport{10, 4});
  EXPECT_TRUE(again->unwritten);
  EXPECT_FALSE(again->modified);
  g.start(1, 3, 5, {2}, deadline, id);
  EXPECT_TRUE(g.answer(id, 2, GlimpseReport{10, 5})->modified);
  // Written back (0), then modified again with a counter seen before: new.
  g.start(1, 4, 5, {2}, deadline, id);
  EXPECT_FALSE(g.answer(id, 2, GlimpseReport{10, 0})->unwritten);
  g.start(1, 5, 5, {2}, deadline, id);
  EXPECT_TRUE(g.answer(id, 2, GlimpseReport{10, 5})->modified);
}

TEST(GlimpseTracker, UnknownFileAnswerCountsAsAnswered) {
  GlimpseTracker g;
  uint64_t id = 0;
  g.start(1, 1, 5, {2}, deadline, id);
  auto r = g.answer(id, 2, std::nullopt);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->unwritten);
  EXPECT_EQ(r->size, 0u);
}

TEST(GlimpseTracker, LateAndStrayAnswersChangeNothing) {
  GlimpseTracker g;
  uint64_t id = 0;
  g.start(1, 1, 5, {2}, deadline, id);
  EXPECT_FALSE(g.answer(id, 9, GlimpseReport{1, 1}));
  EXPECT_FALSE(g.answer(id + 100, 2, GlimpseReport{1, 1}));
  EXPECT_EQ(g.in_flight(), 1u);
}

TEST(GlimpseTracker, DeadlinesNameTheSilentHolders) {
  GlimpseTracker g;
  uint64_t id = 0;
  g.start(1, 1, 5, {2, 3}, deadline, id);
  g.answer(id, 2, GlimpseReport{1, 0});
  EXPECT_TRUE(g.expired(deadline - std::chrono::milliseconds(1)).empty());
  EXPECT_EQ(g.expired(deadline), std::vector<ClientId>{3});
  EXPECT_EQ(g.next_deadline(), deadline);
}

TEST(GlimpseTracker, AHolderGoneNoLongerAwaitedARequesterGoneDropped) {
  GlimpseTracker g;
  uint64_t mine = 0, theirs = 0;
  g.start(1, 1, 5, {2}, deadline, mine);
  g.start(2, 1, 5, {3}, deadline, theirs);
  auto done = g.drop_client(2);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].requester, 1u);
  EXPECT_EQ(g.in_flight(), 0u) << "client 2's own glimpse is dropped";
  EXPECT_FALSE(g.next_deadline());
}

}  // namespace
}  // namespace dmfs::lk
