#include "collective.hpp"

#include <fmt/format.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "dmmap/sync.hpp"

namespace dmmap::bench {

void wait_for(MPI_Request& request, Deadline deadline, const std::string& what) {
  // Spin briefly (the usual case is a peer a few microseconds behind), then
  // yield and sleep: ranks are oversubscribed on small machines.
  for (unsigned spins = 0;; ++spins) {
    int done = 0;
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done) return;
    if (std::chrono::steady_clock::now() >= deadline) {
      int rank = 0;
      MPI_Comm_rank(MPI_COMM_WORLD, &rank);
      throw HangError(fmt::format("rank {}: {} did not complete before the timeout (a rank is stuck)", rank, what),
                      {});
    }
    if (spins < 1000) continue;
    if (spins < 2000) {
      sched_yield();
    } else {
      ::usleep(50);
    }
  }
}

void barrier(MPI_Comm comm, Deadline deadline) {
  MPI_Request request;
  MPI_Ibarrier(comm, &request);
  wait_for(request, deadline, "barrier");
}

double max_of(MPI_Comm comm, double value, Deadline deadline) {
  double result = 0;
  MPI_Request request;
  MPI_Iallreduce(&value, &result, 1, MPI_DOUBLE, MPI_MAX, comm, &request);
  wait_for(request, deadline, "max reduction");
  return result;
}

std::uint64_t sum_of(MPI_Comm comm, std::uint64_t value, Deadline deadline) {
  std::uint64_t result = 0;
  MPI_Request request;
  MPI_Iallreduce(&value, &result, 1, MPI_UINT64_T, MPI_SUM, comm, &request);
  wait_for(request, deadline, "sum reduction");
  return result;
}

std::vector<double> gathered(MPI_Comm comm, const std::vector<double>& local, Deadline deadline) {
  int size = 0;
  MPI_Comm_size(comm, &size);
  int count = static_cast<int>(local.size());
  std::vector<int> counts(static_cast<std::size_t>(size)), offsets(counts.size());
  MPI_Request request;
  MPI_Iallgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, comm, &request);
  wait_for(request, deadline, "gather of counts");
  int total = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    offsets[r] = total;
    total += counts[r];
  }
  std::vector<double> all(static_cast<std::size_t>(total));
  MPI_Iallgatherv(local.data(), count, MPI_DOUBLE, all.data(), counts.data(), offsets.data(), MPI_DOUBLE, comm,
                  &request);
  wait_for(request, deadline, "gather of values");
  return all;
}

Histogram merged(MPI_Comm comm, const Histogram& local, Deadline deadline) {
  std::array<std::uint64_t, Histogram::kBuckets> buckets{};
  MPI_Request requests[4];
  MPI_Iallreduce(local.buckets().data(), buckets.data(), static_cast<int>(Histogram::kBuckets), MPI_UINT64_T,
                 MPI_SUM, comm, &requests[0]);
  // Empty histograms must not pull the minimum to 0.
  std::uint64_t min_in = local.count() ? local.min() : UINT64_MAX, min_out = 0;
  std::uint64_t max_in = local.max(), max_out = 0;
  double sum_in = local.sum(), sum_out = 0;
  MPI_Iallreduce(&min_in, &min_out, 1, MPI_UINT64_T, MPI_MIN, comm, &requests[1]);
  MPI_Iallreduce(&max_in, &max_out, 1, MPI_UINT64_T, MPI_MAX, comm, &requests[2]);
  MPI_Iallreduce(&sum_in, &sum_out, 1, MPI_DOUBLE, MPI_SUM, comm, &requests[3]);
  for (auto& r : requests) wait_for(r, deadline, "histogram reduction");
  return Histogram::from_parts(buckets, min_out, max_out, sum_out);
}

}  // namespace dmmap::bench
