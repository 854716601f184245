// shared.locked-update: the classic way applications share a mapped file
// across nodes: take an fcntl() write lock, update through the mapping,
// unlock. Every rank does it many times, concurrently; the total must be
// exact. A filesystem must make the lock carry the page (flush on unlock or
// revoke, fresh page after lock), as the seed HLD's lock-on-fault design does.
// A filesystem without lock support (ENOSYS, EOPNOTSUPP) makes it a SKIP.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "check.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"
#include "dmmap/rank_set.hpp"

namespace dmmap::conform {
namespace {

// Enough for ranks to interleave many times; NFSv4.2 (lock = flush + invalidate) needs
// about 70 ms per cycle in the TCG guest (41 s for 2 x 300), which must stay well inside --timeout.
constexpr int kIterations = 150;

void set_lock(int fd, short type) {
  struct flock lock {};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = 0;
  lock.l_len = 8;
  while (::fcntl(fd, F_SETLKW, &lock) != 0) {
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "fcntl(F_SETLKW)");
  }
}

// Every rank takes and drops one lock: a filesystem mounted without lock
// support (ENOSYS, EOPNOTSUPP) is an environment limit, a SKIP on every rank;
// any other refusal fails. True when every rank may go on.
bool locks_work(CheckContext& ctx, int fd) {
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  lock.l_len = 8;
  int err = 0;
  while (::fcntl(fd, F_SETLKW, &lock) != 0 && (err = errno) == EINTR) err = 0;
  if (err == 0) set_lock(fd, F_UNLCK);
  const auto errors = ctx.allgather(std::to_string(err));
  std::vector<int> unsupported;
  for (std::size_t r = 0; r < errors.size(); ++r) {
    const int e = std::stoi(errors[r]);
    if (e == ENOSYS || e == EOPNOTSUPP) unsupported.push_back(static_cast<int>(r));
  }
  if (!unsupported.empty())
    throw CheckSkipped(fmt::format("fcntl locks are not supported on ranks {}: {}", format_ranks(unsupported),
                                   std::strerror(std::stoi(errors[static_cast<std::size_t>(unsupported.front())]))));
  if (err != 0) ADD_FAILURE() << "fcntl(F_SETLKW): " << std::strerror(err);
  return ctx.all(err == 0);
}

void run(CheckContext& ctx) {
  const std::size_t page = page_size();
  const auto file = ctx.path("locked");
  if (ctx.rank() == 0) create_file(file, page, 0);
  ctx.barrier();

  Fd fd = open_file(file, O_RDWR);
  if (!locks_work(ctx, fd.get())) return;
  Mapping map(fd.get(), page, PROT_READ | PROT_WRITE, MAP_SHARED);
  auto* counter = reinterpret_cast<volatile std::uint64_t*>(map.data());
  ctx.barrier();
  for (int i = 0; i < kIterations; ++i) {
    set_lock(fd.get(), F_WRLCK);
    *counter = *counter + 1;
    set_lock(fd.get(), F_UNLCK);
  }
  ctx.barrier();
  set_lock(fd.get(), F_RDLCK);
  const std::uint64_t total = *counter;
  set_lock(fd.get(), F_UNLCK);
  const std::uint64_t expected = static_cast<std::uint64_t>(kIterations) * static_cast<std::uint64_t>(ctx.size());
  if (total != expected)
    ADD_FAILURE() << fmt::format("{} locked increments were lost (seen through this client's mapping)",
                                 static_cast<long long>(expected) - static_cast<long long>(total));
  ctx.barrier();
}

const CheckRegistration check({
    .id = "shared.locked-update",
    .summary = "fcntl-lock, update through the mapping, unlock, on every rank: the exact total",
    .distinct_clients = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
