// shared.unresponsive-client: a client that stops answering the server (frozen
// by the target hook, as a partition or a hung node would) while it holds a
// dirty shared mapping must not block the other clients for ever: the
// filesystem evicts it, another client's write of the same page completes,
// and once the frozen client recovers it sees that write, not its own store
// that the eviction discarded. The liveness half of the lock protocol: the
// seed designs revoke cached locks, and a revoke nobody answers must end.
//
// FAIL: the write is still blocked while the client is frozen after the
// target profile's eviction timeout plus half a step (RunProfile::
// eviction_wait), the reason naming the declared timeout (a profile that
// declares one shorter than the filesystem's is the usual cause); a profile
// that declares none makes the check SKIP. Level: what the clients read
// afterwards, through a fresh open (else none) and through the recovered
// client's old mapping (SIGBUS or the new bytes: strict; its own discarded
// store: close-to-open).
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <vector>

#include "check.hpp"
#include "dmmap/probe/child.hpp"
#include "dmmap/probe/fault_probe.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"

namespace dmmap::conform {
namespace {

constexpr int kWriter = 0;
constexpr int kHolder = 1;
constexpr std::uint8_t kHeld = 0x11, kWritten = 0x22;

// One page written by a forked child, so that a write blocked for ever in the
// filesystem can be abandoned (killed) instead of taking the rank with it.
AsyncChild start_write(const std::filesystem::path& file, std::uint8_t value, std::size_t length) {
  const std::vector<std::uint8_t> bytes(length, value);  // before fork: the child only makes syscalls
  ChildOptions options;
  options.timeout = std::chrono::hours(1);  // the check decides how long to wait, and kills
  return AsyncChild::fork(
      [&] {
        const int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0) return errno & 0xff;
        const ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), 0);
        return n == static_cast<ssize_t>(bytes.size()) ? 0 : n < 0 ? (errno & 0xff) : EIO;
      },
      options);
}

// "" when the write completed, else why not (the child exits with the errno).
std::string write_error(const AsyncChild& write) {
  const ChildOutcome& end = write.outcome();
  switch (end.kind) {
    case ChildOutcome::Kind::exited: return end.code == 0 ? "" : std::strerror(end.code);
    case ChildOutcome::Kind::signaled: return fmt::format("killed by signal {}", end.code);
    default: return end.describe();
  }
}

// The writer's side while the holder is frozen; true if the write completed then.
bool write_past_frozen_holder(CheckContext& ctx, std::optional<AsyncChild>& write, std::chrono::milliseconds limit) {
  write.emplace(start_write(ctx.path("held"), kWritten, page_size()));
  return write->wait_for(limit);
}

void judge_write(CheckContext& ctx, AsyncChild& write, bool done_while_frozen, std::chrono::milliseconds limit) {
  if (!done_while_frozen) {
    const bool after_thaw = write.wait_for(limit / 2);
    const Profile& profile = ctx.params().profile.declared;
    ADD_FAILURE() << fmt::format(
        "a write waited {:.1f} s (the eviction timeout of {} that profile {} declares, plus half of --timeout) "
        "for a page held by a client that stopped answering, and the filesystem did not evict that client{}; "
        "if it evicts later than the profile says, declare its real timeout (--profile)",
        static_cast<double>(limit.count()) / 1000, profile.values.at("eviction-timeout").text, profile.name,
        after_thaw ? " (the write completed only once that client answered again)" : "");
  } else if (const std::string error = write_error(write); !error.empty()) {
    ADD_FAILURE() << "the write past the unresponsive client failed: " << error;
  } else {
    ctx.note(fmt::format("the write completed after {} ms, past the unresponsive client", write.took().count()));
  }
}

// After recovery, both clients read the page afresh; the holder also through
// the mapping it kept across its eviction.
void judge_views(CheckContext& ctx, const Mapping& map) {
  const std::size_t page = page_size();
  Fd fd = open_file(ctx.path("held"), O_RDONLY);
  const auto bytes = pread_up_to(fd.get(), page, 0);
  const std::size_t fresh = count_equal(bytes.data(), bytes.size(), kWritten);
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
  const Profile& profile = ctx.params().profile.declared;
  if (!ctx.params().profile.eviction_wait())
    throw CheckSkipped(fmt::format("the target profile {} declares no eviction timeout (see --profile)", profile.name));
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
  if (frozen.status == HookResult::Status::failed) {
    if (ctx.rank() == kHolder) ADD_FAILURE() << frozen.message;
    return;
  }
  const auto limit = *ctx.params().profile.eviction_wait();
  std::optional<AsyncChild> write;
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
    .summary = "a client that stops answering is evicted, not waited for for ever, and sees the others' writes after "
               "(needs --hook)",
    .measures_level = true,
    .hook_actions = {"freeze", "thaw"},
    .distinct_clients = true,
    .forks = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
