#include "merge.hpp"

#include <array>
#include <cstdint>

namespace dmmap::bench {

Histogram merged(Collectives& ranks, const Histogram& local) {
  std::array<std::uint64_t, Histogram::kBuckets> buckets{};
  MPI_Request requests[4];
  MPI_Iallreduce(local.buckets().data(), buckets.data(), static_cast<int>(Histogram::kBuckets), MPI_UINT64_T, MPI_SUM,
                 ranks.comm(), &requests[0]);
  // Empty histograms must not pull the minimum to 0.
  std::uint64_t min_in = local.count() ? local.min() : UINT64_MAX, min_out = 0;
  std::uint64_t max_in = local.max(), max_out = 0;
  double sum_in = local.sum(), sum_out = 0;
  MPI_Iallreduce(&min_in, &min_out, 1, MPI_UINT64_T, MPI_MIN, ranks.comm(), &requests[1]);
  MPI_Iallreduce(&max_in, &max_out, 1, MPI_UINT64_T, MPI_MAX, ranks.comm(), &requests[2]);
  MPI_Iallreduce(&sum_in, &sum_out, 1, MPI_DOUBLE, MPI_SUM, ranks.comm(), &requests[3]);
  ranks.wait(requests, "histogram reduction");
  return Histogram::from_parts(buckets, min_out, max_out, sum_out);
}

}  // namespace dmmap::bench
