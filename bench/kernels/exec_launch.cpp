// Exec launch storm: every active rank spawns the same binary, stored in the
// scratch directory, at the same moment (as a job launch does), and times
// spawn -> exit. The harness's run_child polls every millisecond, too coarse
// for this; a pidfd wakes us when the child exits.
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "dmmap/probe/files.hpp"
#include "kernels.hpp"
#include "timer.hpp"

extern char** environ;

namespace dmmap::bench {
namespace {

// Spawns `path`, waits for it (at most until the deadline), returns its wait status.
int spawn_and_wait(const std::string& path, Deadline deadline) {
  char* argv[] = {const_cast<char*>(path.c_str()), nullptr};
  pid_t pid = 0;
  if (int err = ::posix_spawn(&pid, path.c_str(), nullptr, nullptr, argv, environ); err != 0)
    throw std::system_error(err, std::generic_category(), "posix_spawn " + path);
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                            std::chrono::steady_clock::now());
    if (left.count() <= 0 || !pidfd) break;
    pollfd p{pidfd.get(), POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    break;
  }
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) == pid) return status;
  ::kill(pid, SIGKILL);  // past the deadline (or no pidfd: never on Linux >= 5.3)
  ::waitpid(pid, &status, 0);
  throw std::runtime_error(fmt::format("{} did not exit before the timeout", path));
}

class ExecLaunch : public Kernel {
 public:
  explicit ExecLaunch(std::string source) : source_(std::move(source)) {}

  void setup(RunContext& ctx) override {
    binary_ = ctx.file("launch");
    ctx.step([&] {
      if (ctx.rank() != 0) return;
      cleanup_ = std::make_unique<Unlinker>(binary_);
      std::filesystem::copy_file(source_, binary_, std::filesystem::copy_options::overwrite_existing);
      std::filesystem::permissions(binary_, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                                std::filesystem::perms::group_exec);
      Fd fd = open_file(binary_, O_RDONLY);
      ::fsync(fd.get());  // no writer may be open when others exec it (ETXTBSY)
    });
    ctx.step([&] { open_when_visible(binary_, O_RDONLY); });
  }

  std::uint64_t iteration(RunContext& ctx) override {
    ctx.active_barrier();  // the storm: everyone at once
    const auto before = children_faults();
    const auto start = now_ns();
    const int status = spawn_and_wait(binary_.string(), ctx.deadline());
    const auto elapsed = now_ns() - start;
    faults += children_faults() - before;  // the child's faults: loading the binary
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      throw std::runtime_error(fmt::format("{} ended with wait status {:#x}", binary_.string(), status));
    record(elapsed, ctx.shared.correction_ns);
    ++ops;
    return elapsed;
  }

 private:
  std::string source_;
  std::filesystem::path binary_;
  std::unique_ptr<Unlinker> cleanup_;
};

}  // namespace

std::unique_ptr<Kernel> make_exec_launch(const std::string& source_binary) {
  return std::make_unique<ExecLaunch>(source_binary);
}

}  // namespace dmmap::bench
