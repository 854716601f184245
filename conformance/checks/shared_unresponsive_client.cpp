// shared.unresponsive-client: a client that stops answering the server (frozen
// by the target hook, as a partition or a hung node would) while it holds a
// dirty shared mapping must not block the other clients for ever: the
// filesystem evicts it, another client's write of the same page completes,
// and once the frozen client recovers it sees that write, not its own store
// that the eviction discarded. The liveness half of the lock protocol: the
// seed designs revoke cached locks, and a revoke nobody answers must end.
//
// FAIL: the write is still blocked after half the sync timeout (--timeout)
// while the client is frozen. Level: what the clients read afterwards, through
// a fresh open (else none) and through the recovered client's old mapping
// (SIGBUS or the new bytes: strict; its own discarded store: close-to-open).
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "check.hpp"
#include "dmmap/probe/fault_probe.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"

namespace dmmap::conform {
namespace {

constexpr int kWriter = 0;
constexpr int kHolder = 1;
constexpr std::uint8_t kHeld = 0x11, kWritten = 0x22;
using Clock = std::chrono::steady_clock;

// One page written by a forked child, so that a write blocked for ever in the
// filesystem can be abandoned instead of taking the rank with it.
class ChildWrite {
 public:
  ChildWrite(const std::filesystem::path& file, std::uint8_t value, std::size_t length)
      : started_(Clock::now()) {
    const std::vector<std::uint8_t> bytes(length, value);  // before fork: the child only makes syscalls
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0) ::_exit(errno & 0xff);
      const ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), 0);
      ::_exit(n == static_cast<ssize_t>(bytes.size()) ? 0 : n < 0 ? (errno & 0xff) : EIO);
    }
    if (pid_ < 0) ended_ = true, error_ = std::string("fork: ") + std::strerror(errno);
  }
  ChildWrite(const ChildWrite&) = delete;
  ChildWrite& operator=(const ChildWrite&) = delete;
  ~ChildWrite() {
    if (ended_) return;
    ::kill(pid_, SIGKILL);  // blocked in the kernel: a killable wait ends now
    wait(std::chrono::seconds(5));
  }

  // Waits up to `limit`; true once the child has ended.
  bool wait(std::chrono::milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    while (!ended_ && Clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        ended_ = true;
        took_ = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_);
        if (WIFSIGNALED(status)) error_ = fmt::format("killed by signal {}", WTERMSIG(status));
        else if (WEXITSTATUS(status) != 0) error_ = std::strerror(WEXITSTATUS(status));
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    return ended_;
  }
  const std::string& error() const { return error_; }  // "" when the write completed
  std::chrono::milliseconds took() const { return took_; }

 private:
  pid_t pid_ = -1;
  bool ended_ = false;
  std::string error_;
  Clock::time_point started_;
  std::chrono::milliseconds took_{0};
};

// The writer's side while the holder is frozen; true if the write completed then.
bool write_past_frozen_holder(CheckContext& ctx, std::optional<ChildWrite>& write, std::chrono::milliseconds limit) {
  write.emplace(ctx.path("held"), kWritten, page_size());
  return write->wait(limit);
}

void judge_write(CheckContext& ctx, ChildWrite& write, bool done_while_frozen, std::chrono::milliseconds limit) {
  if (!done_while_frozen) {
    const bool after_thaw = write.wait(limit / 2);
    ADD_FAILURE() << fmt::format(
        "a write waited more than {} s for a page held by a client that stopped answering, which the "
        "filesystem never evicted{}",
        limit.count() / 1000, after_thaw ? " (it completed only once that client answered again)" : "");
  } else if (!write.error().empty()) {
    ADD_FAILURE() << "the write past the unresponsive client failed: " << write.error();
  } else {
    ctx.note(fmt::format("the write completed after {} ms, past the unresponsive client", write.took().count()));
  }
}

// After recovery, both clients read the page afresh; the holder also through
// the mapping it kept across its eviction.
void judge_views(CheckContext& ctx, const Mapping& map) {
  const std::size_t page = page_size();
  Fd fd = open_file(ctx.path("held"), O_RDONLY);
  const auto bytes = pread_exact(fd.get(), page, 0);
  const std::size_t fresh = count_equal(reinterpret_cast<const std::byte*>(bytes.data()), page, kWritten);
  ctx.reached(fresh == page ? Level::strict : Level::none,
              fmt::format("rank {} re-open after recovery ({} of {} bytes written)", ctx.rank(), fresh, page));
  if (ctx.rank() != kHolder) return;
  const ProbeResult r = probe_load(map.data());
  if (!r.ok()) {
    ctx.note("the recovered client's old mapping gives " + r.describe());
    ctx.reached(Level::strict, "recovered client's mapping refuses access (" + r.describe() + ")");
  } else if (count_equal(map.data(), page, kWritten) == page) {
    ctx.reached(Level::strict, "recovered client's mapping shows the write");
  } else {
    ctx.reached(Level::close_to_open,
                fmt::format("recovered client's mapping still shows 0x{:02x}, not the write", r.value));
  }
}

void run(CheckContext& ctx) {
  if (!ctx.have_hook()) GTEST_SKIP() << no_hook_reason("freeze");
  const std::size_t page = page_size();
  if (ctx.rank() == kWriter) create_file(ctx.path("held"), page, 0);
  ctx.barrier();
  Mapping map;
  if (ctx.rank() == kHolder) {
    Fd fd = open_file(ctx.path("held"), O_RDWR);
    map = Mapping(fd.get(), page, PROT_READ | PROT_WRITE, MAP_SHARED);
    std::memset(map.data(), kHeld, page);  // a dirty page under a write lock
  }
  ctx.barrier();

  const HookResult frozen = ctx.hook(kHolder, "freeze");
  if (frozen.status == HookResult::Status::unsupported) GTEST_SKIP() << frozen.message;
  if (frozen.status == HookResult::Status::failed) {
    if (ctx.rank() == kHolder) ADD_FAILURE() << frozen.message;
    return;
  }
  const auto limit = ctx.sync_timeout() / 2;
  std::optional<ChildWrite> write;
  bool done = ctx.rank() == kWriter && write_past_frozen_holder(ctx, write, limit);
  done = ctx.allgather(done ? "1" : "0")[kWriter] == "1";

  const HookResult thawed = ctx.hook(kHolder, "thaw");
  if (ctx.rank() == kHolder && thawed.status != HookResult::Status::done) ADD_FAILURE() << thawed.message;
  if (ctx.rank() == kWriter) judge_write(ctx, *write, done, limit);
  ctx.barrier();
  if (done && thawed.status == HookResult::Status::done) judge_views(ctx, map);
  ctx.barrier();
}

const CheckRegistration check({
    .id = "shared.unresponsive-client",
    .summary = "a client that stops answering is evicted, not waited for for ever, and sees the others' writes after (needs --hook)",
    .min_ranks = 2,
    .measures_level = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
