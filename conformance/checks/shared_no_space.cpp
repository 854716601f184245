// shared.no-space: the target hook makes the filesystem nearly full (`fill`);
// rank 0 then stores, through a mapping of a sparse file, into more pages
// than statvfs() says are free. Some store cannot be allocated, and the
// filesystem must say so — SIGBUS at the store, or an error from msync,
// fsync or close — never lose it silently. Afterwards every rank reads the
// file afresh: each page holds rank 0's bytes or zeros (nothing else), every
// rank sees the same pages, and with no error reported every page stored.
// The hook then frees the space (`unfill`).
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "check.hpp"
#include "dmmap/probe/fault_probe.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"
#include "target_hook.hpp"

namespace dmmap::conform {
namespace {

// The most the check writes: a hook whose fill leaves more free is not tested.
constexpr std::uint64_t kMaxFree = 64u << 20;
constexpr std::uint64_t kBeyond = 2u << 20;  // written past what statvfs says is free

std::uint8_t tag(std::size_t page) { return static_cast<std::uint8_t>(1 + page % 251); }

// The free bytes, reserve included (f_bfree, not f_bavail): a privileged
// writer may use ext4's reserved blocks, and past f_bfree is past f_bavail.
std::uint64_t free_bytes(const std::filesystem::path& dir) {
  struct statvfs sv {};
  if (::statvfs(dir.c_str(), &sv) != 0) throw std::system_error(errno, std::generic_category(), "statvfs");
  return static_cast<std::uint64_t>(sv.f_bfree) * sv.f_frsize;
}

// What rank 0's stores met: the first refusal, or "" when everything succeeded.
struct Attempt {
  std::size_t stored = 0;  // pages whose stores completed
  std::string reported;    // how the filesystem said it could not
};

// Rank 0: stores into every page until one is refused, then msync, fsync, close.
Attempt store_all(const std::filesystem::path& file, std::size_t pages) {
  Attempt a;
  Fd fd = create_file(file, 0, 0);
  if (::ftruncate(fd.get(), static_cast<off_t>(pages * page_size())) != 0)
    throw std::system_error(errno, std::generic_category(), "ftruncate");
  {
    Mapping map(fd.get(), pages * page_size(), PROT_READ | PROT_WRITE, MAP_SHARED);
    for (; a.stored < pages; ++a.stored) {
      std::uint8_t* p = map.data() + a.stored * page_size();
      const ProbeResult r = probe_store(p, tag(a.stored));
      if (!r.ok()) {
        a.reported = fmt::format("store into page {}: {}", a.stored, r.describe());
        break;
      }
      std::memset(p, tag(a.stored), page_size());
    }
    if (::msync(map.data(), map.size(), MS_SYNC) != 0 && a.reported.empty())
      a.reported = fmt::format("msync: {}", std::strerror(errno));
  }
  if (::fsync(fd.get()) != 0 && a.reported.empty()) a.reported = fmt::format("fsync: {}", std::strerror(errno));
  if (::close(fd.release()) != 0 && a.reported.empty()) a.reported = fmt::format("close: {}", std::strerror(errno));
  return a;
}

// This rank's fresh view of the file: one letter a page, 'd' rank 0's bytes,
// 'z' zeros; anything else is a FAIL naming the page.
std::string pages_seen(const std::filesystem::path& file, std::size_t pages) {
  const Fd fd = open_file(file, O_RDONLY);
  drop_cached(fd.get());
  const auto bytes = pread_up_to(fd.get(), pages * page_size(), 0);
  std::string seen(pages, 'z');
  for (std::size_t p = 0; p * page_size() < bytes.size(); ++p) {
    const std::size_t n = std::min(page_size(), bytes.size() - p * page_size());
    const std::uint8_t* b = bytes.data() + p * page_size();
    if (count_equal(b, n, tag(p)) == n)
      seen[p] = 'd';
    else if (count_equal(b, n, 0) != n)
      ADD_FAILURE() << fmt::format("page {} holds neither rank 0's bytes nor zeros: phantom data", p);
  }
  return seen;
}

// Rank 0's conclusion: a FAIL is recorded; a run that tested nothing
// returns why (the check is then a SKIP on every rank).
std::string judge(CheckContext& ctx, const Attempt& a, const std::vector<std::string>& views, std::uint64_t free) {
  for (std::size_t r = 1; r < views.size(); ++r)
    if (views[r] != views[0])
      ADD_FAILURE() << fmt::format(
          "rank {} sees {} pages of data, rank 0 {}: the clients disagree about what was stored", r,
          std::count(views[r].begin(), views[r].end(), 'd'), std::count(views[0].begin(), views[0].end(), 'd'));
  const auto data = static_cast<std::size_t>(std::count(views[0].begin(), views[0].end(), 'd'));
  if (!a.reported.empty()) {
    ctx.note(fmt::format("{} bytes free after the fill, {} stored into; reported: {}; {} pages stored, {} reached the "
                         "file",
                         free, views[0].size() * page_size(), a.reported, a.stored, data));
    return "";
  }
  if (data < a.stored) {
    ADD_FAILURE() << fmt::format(
        "stores into {} pages were silently lost: every store, msync, fsync and close succeeded with {} bytes free, "
        "but only {} of {} pages reached the file",
        a.stored - data, free, data, a.stored);
    return "";
  }
  return fmt::format("the filesystem took all {} bytes though statvfs said {} were free: nothing was short of space",
                     a.stored * page_size(), free);
}

// Frees the space if the check ends early (a failure on some rank): rank 0
// runs the hook's unfill itself, since no collective step is safe then.
class Unfill {
 public:
  explicit Unfill(CheckContext& ctx) : ctx_(ctx) {}
  Unfill(const Unfill&) = delete;
  Unfill& operator=(const Unfill&) = delete;
  ~Unfill() {
    if (armed_ && ctx_.rank() == 0) run_hook(ctx_.params().hook, "unfill", ctx_.dir(), ctx_.sync_timeout() / 2);
  }
  // Collective: unfill through the framework (its output in the report).
  void now() {
    armed_ = false;
    const HookResult r = ctx_.hook(0, "unfill");
    if (ctx_.rank() == 0 && r.status != HookResult::Status::done) ADD_FAILURE() << "hook unfill: " << r.message;
  }

 private:
  CheckContext& ctx_;
  bool armed_ = true;
};

// Rank 0 stores, every rank looks; rank 0's reason to SKIP, if any, on every rank.
std::string attempt(CheckContext& ctx, std::uint64_t free) {
  const auto file = ctx.path("full");
  const std::size_t pages = (free + kBeyond) / page_size();
  Attempt a;
  if (ctx.rank() == 0) a = store_all(file, pages);
  a.stored = std::stoul(ctx.broadcast(std::to_string(a.stored)));
  a.reported = ctx.broadcast(a.reported);
  const auto views = ctx.allgather(pages_seen(file, pages));
  std::string skip;
  if (ctx.rank() == 0) {
    skip = judge(ctx, a, views, free);
    std::filesystem::remove(file);
  }
  return ctx.broadcast(skip);
}

void run(CheckContext& ctx) {
  const HookResult filled = ctx.hook(0, "fill");
  Unfill unfill(ctx);
  if (filled.status != HookResult::Status::done) {
    if (ctx.rank() == 0) ADD_FAILURE() << "hook fill: " << filled.message;
    unfill.now();
    return;
  }
  const std::uint64_t free = std::stoull(ctx.broadcast(ctx.rank() == 0 ? std::to_string(free_bytes(ctx.dir())) : ""));
  const std::string skip = free > kMaxFree
                               ? fmt::format("the hook's fill left {} bytes free, more than the {} this check writes",
                                             free, kMaxFree)
                               : attempt(ctx, free);
  unfill.now();
  if (!skip.empty()) throw CheckSkipped(skip);
}

const CheckRegistration check({
    .id = "shared.no-space",
    .summary = "a mapped store that cannot be allocated is reported (SIGBUS, msync/fsync/close error), never lost",
    .hook_actions = {"fill", "unfill"},
    .distinct_clients = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
