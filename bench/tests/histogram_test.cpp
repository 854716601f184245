#include "histogram.hpp"

#include <gtest/gtest.h>

#include <random>

namespace dmmap::bench {
namespace {

TEST(Histogram, SmallValuesAreExact) {
  for (std::uint64_t v = 0; v < Histogram::kSub; ++v) {
    EXPECT_EQ(Histogram::bucket_of(v), v);
    EXPECT_EQ(Histogram::bucket_low(v), v);
    EXPECT_EQ(Histogram::bucket_high(v), v);
  }
}

TEST(Histogram, BucketsTileTheRangeWithBoundedRelativeWidth) {
  for (std::size_t i = 0; i + 1 < Histogram::kBuckets; ++i) {
    ASSERT_EQ(Histogram::bucket_high(i) + 1, Histogram::bucket_low(i + 1)) << i;
    ASSERT_EQ(Histogram::bucket_of(Histogram::bucket_low(i)), i);
    ASSERT_EQ(Histogram::bucket_of(Histogram::bucket_high(i)), i);
    const double width = static_cast<double>(Histogram::bucket_high(i) - Histogram::bucket_low(i) + 1);
    if (i >= Histogram::kSub) {
      ASSERT_LE(width / static_cast<double>(Histogram::bucket_low(i)), 1.0 / 64 + 1e-12);
    }
  }
  EXPECT_EQ(Histogram::bucket_of(UINT64_MAX), Histogram::kBuckets - 1);
}

TEST(Histogram, PercentilesOfAUniformSetAreWithinOneBucket) {
  Histogram h;
  for (std::uint64_t v = 1; v <= 100'000; ++v) h.record(v);
  EXPECT_EQ(h.count(), 100'000u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_EQ(h.max(), 100'000u);
  EXPECT_DOUBLE_EQ(h.mean(), 50'000.5);
  for (double f : {0.5, 0.9, 0.99, 0.999}) {
    const double truth = f * 100'000;
    EXPECT_NEAR(h.percentile(f), truth, truth / 64) << f;
  }
  EXPECT_EQ(h.percentile(1.0), 100'000);
}

TEST(Histogram, MergeEqualsRecordingEverythingInOne) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(6.0, 1.5);
  Histogram a, b, all;
  for (int i = 0; i < 50'000; ++i) {
    const auto v = static_cast<std::uint64_t>(dist(rng));
    (i % 3 ? a : b).record(v);
    all.record(v);
  }
  Histogram merged = a;
  merged.merge(b);
  EXPECT_EQ(merged.buckets(), all.buckets());
  EXPECT_EQ(merged.min(), all.min());
  EXPECT_EQ(merged.max(), all.max());
  EXPECT_DOUBLE_EQ(merged.sum(), all.sum());
  EXPECT_EQ(merged.percentile(0.99), all.percentile(0.99));
}

TEST(Histogram, FromPartsRoundTrips) {
  Histogram h;
  for (std::uint64_t v : {3u, 700u, 700u, 123456u}) h.record(v);
  const auto copy = Histogram::from_parts(h.buckets(), h.min(), h.max(), h.sum());
  EXPECT_EQ(copy.count(), 4u);
  EXPECT_EQ(copy.min(), 3u);
  EXPECT_EQ(copy.max(), 123456u);
  EXPECT_EQ(copy.percentile(0.5), h.percentile(0.5));
}

TEST(Histogram, BimodalTailIsVisible) {
  // Fault-around makes per-load latency bimodal: 15 cheap loads, 1 fault.
  Histogram h;
  for (int i = 0; i < 1600; ++i) h.record(i % 16 == 0 ? 2000 : 20);
  EXPECT_EQ(h.percentile(0.5), 20);
  EXPECT_EQ(h.percentile(0.9), 20);
  EXPECT_NEAR(h.percentile(0.99), 2000, 2000.0 / 64);
}

TEST(Histogram, CdfIsMonotoneAndEndsAtOne) {
  Histogram h;
  for (std::uint64_t v = 10; v < 5000; v += 7) h.record(v);
  const auto points = h.cdf();
  ASSERT_FALSE(points.empty());
  for (std::size_t i = 1; i < points.size(); ++i) {
    EXPECT_GT(points[i].value, points[i - 1].value);
    EXPECT_GT(points[i].fraction, points[i - 1].fraction);
  }
  EXPECT_DOUBLE_EQ(points.back().fraction, 1.0);
  EXPECT_LE(points.back().value, 5000);
}

TEST(Histogram, EmptyIsAllZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.percentile(0.5), 0);
  EXPECT_TRUE(h.cdf().empty());
}

}  // namespace
}  // namespace dmmap::bench
