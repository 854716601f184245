#include "locked_counter.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>
#include <thread>

#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"
#include "dmmap/rank_set.hpp"

namespace dmmap::conform {
namespace {

// Enough for ranks to interleave many times; NFSv4.2 (lock = flush + invalidate) needs
// about 70 ms per cycle in the TCG guest (41 s for 2 x 300), which must stay well inside --timeout.
constexpr int kIterations = 150;
// Between the load and the store of an increment: without mutual exclusion
// across clients, two clients' increments then overlap in most rounds
// instead of by chance (OCFS2 with o2cb, whose fcntl locks are node-local,
// passed with the load and store back to back in three runs of four).
constexpr auto kIncrementWindow = std::chrono::microseconds(200);

void set(const AppLock& lock, int fd, LockMode mode) {
  if (int err = lock.apply(fd, mode); err != 0) throw std::system_error(err, std::generic_category(), lock.call);
}

// Every rank takes and drops the lock once: a filesystem without it (ENOSYS,
// EOPNOTSUPP) is an environment limit, a SKIP on every rank; any other
// refusal fails. True when every rank may go on.
bool lock_works(CheckContext& ctx, const AppLock& lock, int fd) {
  const int err = lock.apply(fd, LockMode::exclusive);
  if (err == 0) set(lock, fd, LockMode::unlock);
  const auto errors = ctx.allgather(std::to_string(err));
  std::vector<int> unsupported;
  for (std::size_t r = 0; r < errors.size(); ++r) {
    const int e = std::stoi(errors[r]);
    if (e == ENOSYS || e == EOPNOTSUPP) unsupported.push_back(static_cast<int>(r));
  }
  if (!unsupported.empty())
    throw CheckSkipped(fmt::format("{} not supported on ranks {}: {}", lock.unsupported, format_ranks(unsupported),
                                   std::strerror(std::stoi(errors[static_cast<std::size_t>(unsupported.front())]))));
  if (err != 0) ADD_FAILURE() << lock.call << ": " << std::strerror(err);
  return ctx.all(err == 0);
}

}  // namespace

void run_locked_counter(CheckContext& ctx, const AppLock& lock, const char* file_name) {
  const std::size_t page = page_size();
  const auto file = ctx.path(file_name);
  if (ctx.rank() == 0) create_file(file, page, 0);
  ctx.barrier();

  Fd fd = open_file(file, O_RDWR);
  if (!lock_works(ctx, lock, fd.get())) return;
  Mapping map(fd.get(), page, PROT_READ | PROT_WRITE, MAP_SHARED);
  auto* counter = reinterpret_cast<volatile std::uint64_t*>(map.data());
  ctx.barrier();
  for (int i = 0; i < kIterations; ++i) {
    set(lock, fd.get(), LockMode::exclusive);
    const std::uint64_t seen = *counter;
    std::this_thread::sleep_for(kIncrementWindow);
    *counter = seen + 1;
    set(lock, fd.get(), LockMode::unlock);
  }
  ctx.barrier();
  set(lock, fd.get(), LockMode::shared);
  const std::uint64_t total = *counter;
  set(lock, fd.get(), LockMode::unlock);
  const std::uint64_t expected = static_cast<std::uint64_t>(kIterations) * static_cast<std::uint64_t>(ctx.size());
  if (total != expected)
    ADD_FAILURE() << fmt::format("{} {} increments were lost (seen through this client's mapping)",
                                 static_cast<long long>(expected) - static_cast<long long>(total), lock.increments);
  ctx.barrier();
}

}  // namespace dmmap::conform
