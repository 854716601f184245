// Exec launch storm: every active rank spawns the same binary, stored in the
// scratch directory, at the same moment (as a job launch does), and times
// spawn -> exit. The probe library's child (AsyncChild) waits on a pidfd, so
// the wait ends the moment the child exits.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "dmmap/probe/child.hpp"
#include "dmmap/probe/files.hpp"
#include "kernels.hpp"
#include "timer.hpp"

namespace dmmap::bench {
namespace {

// Runs `path` to its end, at most until the deadline; anything but exit 0 throws.
void spawn_and_wait(const std::string& path, Deadline deadline) {
  ChildOptions options;
  options.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  const ChildOutcome end = run_child({path}, options);
  if (!end.exited_with(0)) throw std::runtime_error(fmt::format("{} ended: {}", path, end.describe()));
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
    spawn_and_wait(binary_.string(), ctx.deadline());
    const auto elapsed = now_ns() - start;
    faults += children_faults() - before;  // the child's faults: loading the binary
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
