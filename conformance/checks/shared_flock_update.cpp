// shared.flock-update: shared.locked-update with the other lock applications
// use, flock(2): every rank takes an exclusive whole-file lock on its own
// open file, updates a counter through the mapping, unlocks; the total must be
// exact. A filesystem must make the flock exclude across clients and carry the
// page (flush on unlock or revoke, fresh page after the grant). A filesystem
// without flock support (ENOSYS, EOPNOTSUPP) makes it a SKIP.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/file.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "check.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"
#include "dmmap/rank_set.hpp"

namespace dmmap::conform {
namespace {

// As shared.locked-update's: enough for ranks to interleave many times.
constexpr int kIterations = 150;

void set_flock(int fd, int operation) {
  while (::flock(fd, operation) != 0) {
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "flock");
  }
}

// Every rank takes and drops the lock once: a filesystem without flock
// support (ENOSYS, EOPNOTSUPP) is an environment limit, a SKIP on every rank;
// any other refusal fails. True when every rank may go on.
bool flock_works(CheckContext& ctx, int fd) {
  int err = 0;
  while (::flock(fd, LOCK_EX) != 0 && (err = errno) == EINTR) err = 0;
  if (err == 0) set_flock(fd, LOCK_UN);
  const auto errors = ctx.allgather(std::to_string(err));
  std::vector<int> unsupported;
  for (std::size_t r = 0; r < errors.size(); ++r) {
    const int e = std::stoi(errors[r]);
    if (e == ENOSYS || e == EOPNOTSUPP) unsupported.push_back(static_cast<int>(r));
  }
  if (!unsupported.empty())
    throw CheckSkipped(fmt::format("flock is not supported on ranks {}: {}", format_ranks(unsupported),
                                   std::strerror(std::stoi(errors[static_cast<std::size_t>(unsupported.front())]))));
  if (err != 0) ADD_FAILURE() << "flock(LOCK_EX): " << std::strerror(err);
  return ctx.all(err == 0);
}

void run(CheckContext& ctx) {
  const std::size_t page = page_size();
  const auto file = ctx.path("flocked");
  if (ctx.rank() == 0) create_file(file, page, 0);
  ctx.barrier();

  Fd fd = open_file(file, O_RDWR);
  if (!flock_works(ctx, fd.get())) return;
  Mapping map(fd.get(), page, PROT_READ | PROT_WRITE, MAP_SHARED);
  auto* counter = reinterpret_cast<volatile std::uint64_t*>(map.data());
  ctx.barrier();
  for (int i = 0; i < kIterations; ++i) {
    set_flock(fd.get(), LOCK_EX);
    *counter = *counter + 1;
    set_flock(fd.get(), LOCK_UN);
  }
  ctx.barrier();
  set_flock(fd.get(), LOCK_SH);
  const std::uint64_t total = *counter;
  set_flock(fd.get(), LOCK_UN);
  const std::uint64_t expected = static_cast<std::uint64_t>(kIterations) * static_cast<std::uint64_t>(ctx.size());
  if (total != expected)
    ADD_FAILURE() << fmt::format("{} flocked increments were lost (seen through this client's mapping)",
                                 static_cast<long long>(expected) - static_cast<long long>(total));
  ctx.barrier();
}

const CheckRegistration check({
    .id = "shared.flock-update",
    .summary = "flock, update through the mapping, unlock, on every rank: the exact total",
    .distinct_clients = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
