#include "histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace dmmap::bench {

std::size_t Histogram::bucket_of(std::uint64_t value) {
  if (value < kSub) return static_cast<std::size_t>(value);
  const unsigned msb = 63 - static_cast<unsigned>(std::countl_zero(value));
  const unsigned shift = msb - kSubBits;  // low bits folded into one bucket
  const std::size_t group = shift + 1;
  return group * kSub + static_cast<std::size_t>((value >> shift) & (kSub - 1));
}

std::uint64_t Histogram::bucket_low(std::size_t index) {
  if (index < kSub) return index;
  const std::size_t group = index / kSub;
  const unsigned shift = static_cast<unsigned>(group - 1);
  return (kSub + index % kSub) << shift;
}

std::uint64_t Histogram::bucket_high(std::size_t index) {
  if (index + 1 >= kBuckets) return UINT64_MAX;
  return bucket_low(index + 1) - 1;
}

void Histogram::record(std::uint64_t value) {
  ++buckets_[bucket_of(value)];
  ++count_;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += static_cast<double>(value);
}

void Histogram::merge(const Histogram& other) {
  for (std::size_t i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

Histogram Histogram::from_parts(const std::array<std::uint64_t, kBuckets>& buckets, std::uint64_t min,
                                std::uint64_t max, double sum) {
  Histogram h;
  h.buckets_ = buckets;
  for (auto c : buckets) h.count_ += c;
  h.min_ = h.count_ ? min : UINT64_MAX;
  h.max_ = h.count_ ? max : 0;
  h.sum_ = sum;
  return h;
}

double Histogram::percentile(double fraction) const {
  if (count_ == 0) return 0;
  fraction = std::clamp(fraction, 0.0, 1.0);
  // The rank of the wanted sample (1-based), as fio computes it.
  const auto wanted = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(fraction * static_cast<double>(count_))));
  if (wanted >= count_) return static_cast<double>(max_);  // the largest sample is known exactly
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= wanted) {
      // Midpoint of the bucket: the best single guess within it.
      const double mid = (static_cast<double>(bucket_low(i)) + static_cast<double>(bucket_high(i))) / 2;
      return std::clamp(mid, static_cast<double>(min_), static_cast<double>(max_));
    }
  }
  return static_cast<double>(max_);
}

std::vector<Histogram::CdfPoint> Histogram::cdf() const {
  std::vector<CdfPoint> points;
  if (count_ == 0) return points;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    if (buckets_[i] == 0) continue;
    seen += buckets_[i];
    const double high = std::min(static_cast<double>(bucket_high(i)), static_cast<double>(max_));
    points.push_back({high, static_cast<double>(seen) / static_cast<double>(count_)});
  }
  return points;
}

}  // namespace dmmap::bench
