// A mergeable log-linear latency histogram (the scheme fio uses).
//
// Values below 2^kSubBits are counted exactly; above, each power-of-two range
// is split into 2^kSubBits equal buckets, so a bucket's width is at most
// 1/64 of its values (relative error < 1.6%) over the whole uint64 range.
// The bucket array has a fixed size, so histograms of different ranks merge by
// adding counts (an MPI_SUM over the array) and percentiles stay exact up to
// the bucket width — averages of per-rank percentiles would not.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace dmmap::bench {

class Histogram {
 public:
  static constexpr unsigned kSubBits = 6;
  static constexpr std::uint64_t kSub = 1u << kSubBits;  // buckets per power of two
  static constexpr std::size_t kBuckets = (64 - kSubBits + 1) * kSub;

  void record(std::uint64_t value);
  void merge(const Histogram& other);
  void clear() { *this = Histogram{}; }

  std::uint64_t count() const { return count_; }
  std::uint64_t min() const { return count_ ? min_ : 0; }
  std::uint64_t max() const { return max_; }
  // Exact sum and mean (kept beside the buckets, not derived from them).
  double sum() const { return sum_; }
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0.0; }
  // The value below which `fraction` (0..1) of the samples lie, to within one
  // bucket; clamped to [min, max]. 0 when empty.
  double percentile(double fraction) const;

  struct CdfPoint {
    double value;     // upper edge of a bucket, clamped to max()
    double fraction;  // share of samples <= value
  };
  // One point per non-empty bucket, for plotting.
  std::vector<CdfPoint> cdf() const;

  // Bucket geometry, exposed for tests and for reduction.
  static std::size_t bucket_of(std::uint64_t value);
  static std::uint64_t bucket_low(std::size_t index);   // smallest value in the bucket
  static std::uint64_t bucket_high(std::size_t index);  // largest value in the bucket

  // Raw state, for MPI reduction and serialisation.
  const std::array<std::uint64_t, kBuckets>& buckets() const { return buckets_; }
  static Histogram from_parts(const std::array<std::uint64_t, kBuckets>& buckets, std::uint64_t min, std::uint64_t max,
                              double sum);

 private:
  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
  double sum_ = 0;  // double: sums of ns over hours overflow nothing, and MPI_SUM is easy
};

}  // namespace dmmap::bench
