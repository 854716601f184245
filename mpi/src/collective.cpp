#include "dmmap/collective.hpp"

#include <fmt/format.h>

#include <fmt/ranges.h>

#include <algorithm>
#include <sstream>

#include "dmmap/messages.hpp"
#include "dmmap/rank_set.hpp"
#include "dmmap/sync.hpp"

namespace dmmap {
namespace {

constexpr int kRollCallTag = 7103;
constexpr int kVerdictTag = 7104;

Deadline after(std::chrono::milliseconds timeout) { return std::chrono::steady_clock::now() + timeout; }

std::string seconds(std::chrono::milliseconds t) { return fmt::format("{:g} s", t.count() / 1000.0); }

}  // namespace

Collectives::Collectives(MPI_Comm comm, std::chrono::milliseconds timeout) : comm_(comm), timeout_(timeout) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

void Collectives::wait(std::span<MPI_Request> requests, const std::string& what) {
  ++calls_;
  const auto all_done = [&] {
    int done = 0;
    MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE);
    return done != 0;
  };
  if (!poll_until(all_done, after(timeout_), kEagerBackoff)) roll_call(what);
}

void Collectives::wait_peer(MPI_Request& request, int peer, const std::string& what) {
  int done = 0;
  if (poll_until([&] { return MPI_Test(&request, &done, MPI_STATUS_IGNORE), done != 0; }, after(timeout_),
                 kEagerBackoff))
    return;
  throw HangError(
      fmt::format("rank {}: {} with rank {} did not complete within {}", rank_, what, peer, seconds(timeout_)), {peer});
}

void Collectives::barrier(const std::string& what) {
  MPI_Request request;
  MPI_Ibarrier(comm_, &request);
  wait({&request, 1}, what);
}

double Collectives::max(double value, const std::string& what) {
  double result = 0;
  MPI_Request request;
  MPI_Iallreduce(&value, &result, 1, MPI_DOUBLE, MPI_MAX, comm_, &request);
  wait({&request, 1}, what);
  return result;
}

std::uint64_t Collectives::sum(std::uint64_t value, const std::string& what) {
  std::uint64_t result = 0;
  MPI_Request request;
  MPI_Iallreduce(&value, &result, 1, MPI_UINT64_T, MPI_SUM, comm_, &request);
  wait({&request, 1}, what);
  return result;
}

// The one gather of variable-length contributions: counts first, then the
// data in rank order; `counts` receives every rank's count.
template <typename T>
std::vector<T> Collectives::allgatherv(const T* data, int count, MPI_Datatype type, const std::string& what,
                                       std::vector<int>& counts) {
  counts.assign(static_cast<std::size_t>(size_), 0);
  std::vector<int> offsets(counts.size());
  MPI_Request request;
  MPI_Iallgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, comm_, &request);
  wait({&request, 1}, what + " (counts)");
  int total = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    offsets[r] = total;
    total += counts[r];
  }
  std::vector<T> all(static_cast<std::size_t>(total));
  MPI_Iallgatherv(data, count, type, all.data(), counts.data(), offsets.data(), type, comm_, &request);
  wait({&request, 1}, what);
  return all;
}

std::vector<double> Collectives::allgather(const std::vector<double>& local, const std::string& what) {
  std::vector<int> counts;
  return allgatherv(local.data(), static_cast<int>(local.size()), MPI_DOUBLE, what, counts);
}

std::vector<std::string> Collectives::allgather(const std::string& local, const std::string& what) {
  std::vector<int> counts;
  const std::vector<char> bytes = allgatherv(local.data(), static_cast<int>(local.size()), MPI_CHAR, what, counts);
  std::vector<std::string> out;
  std::size_t at = 0;
  for (int n : counts) {
    out.emplace_back(bytes.data() + at, static_cast<std::size_t>(n));
    at += static_cast<std::size_t>(n);
  }
  return out;
}

// At a deadline: the ranks that are there answer rank 0's roll call, and
// everyone learns who did not. Rank 0 waits one more timeout for the others
// (their deadlines come later if they entered later); the others wait for
// its verdict longer than that, and name rank 0 when it never comes.
void Collectives::roll_call(const std::string& what) {
  const std::string call = std::to_string(calls_);
  std::vector<int> missing;
  if (rank_ == 0) {
    std::vector<bool> here(static_cast<std::size_t>(size_), false);
    here[0] = true;
    const auto deadline = after(timeout_);
    std::string bytes;
    int from = -1;
    while (std::count(here.begin(), here.end(), true) < size_ &&
           receive(comm_, MPI_ANY_SOURCE, kRollCallTag, deadline, bytes, &from))
      if (bytes == call) here[static_cast<std::size_t>(from)] = true;
    for (int r = 0; r < size_; ++r)
      if (!here[static_cast<std::size_t>(r)]) missing.push_back(r);
    const std::string verdict = fmt::format("{}", fmt::join(missing, " "));
    for (int r = 1; r < size_; ++r)
      if (here[static_cast<std::size_t>(r)]) send(comm_, r, kVerdictTag, verdict, after(timeout_));
  } else {
    std::string verdict;
    const auto deadline = after(2 * timeout_ + std::chrono::seconds(5));
    if (send(comm_, 0, kRollCallTag, call, deadline) && receive(comm_, 0, kVerdictTag, deadline, verdict)) {
      std::istringstream words(verdict);
      for (int r; words >> r;) missing.push_back(r);
    } else {
      missing = {0};
    }
  }
  if (missing.empty())
    throw HangError(fmt::format("rank {}: {} did not complete within {}, though every rank answered the roll call",
                                rank_, what, seconds(timeout_)),
                    missing);
  throw HangError(fmt::format("rank {}: {} did not complete within {}: ranks {} did not arrive", rank_, what,
                              seconds(timeout_), format_ranks(missing)),
                  missing);
}

}  // namespace dmmap
