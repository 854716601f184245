// exec.changed-binary: one client runs a binary from the filesystem while
// another overwrites the file in place (the seed HLD's case 1: a binary
// changed on another node must never run as a mix of old and new pages).
//
// The runner executes page 0, then the writer (another client) opens the
// file for writing. Then the runner evicts its unexecuted pages, as memory
// pressure would, and faults in every other page, each reporting its version.
//
// PASS: the writer gets ETXTBSY; or the runner is terminated by SIGBUS/SIGKILL
// before it executes a new page; or (noted) the filesystem keeps serving the
// running version. FAIL: a mix of versions, or any other death.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "check.hpp"
#include "exec_util.hpp"
#include "dmmap/probe/files.hpp"

namespace dmmap::conform {
namespace {

constexpr int kWriter = 0;
constexpr int kRunnerRank = 1;

// Overwrites `target` in place with `replacement`; returns "" or the errno text.
std::string overwrite_in_place(const std::filesystem::path& target, const std::filesystem::path& replacement) {
  Fd in = open_file(replacement, O_RDONLY);
  struct stat st {};
  ::fstat(in.get(), &st);
  auto bytes = pread_exact(in.get(), static_cast<std::size_t>(st.st_size), 0);
  Fd out(::open(target.c_str(), O_WRONLY | O_CLOEXEC));  // no O_TRUNC: in place, same inode
  if (!out) return std::strerror(errno);
  pwrite_exact(out.get(), bytes.data(), bytes.size(), 0);
  fsync_file(out.get());
  return "";
}

// The runner's judgement, given whether the writer's open succeeded.
void judge(CheckContext& ctx, const ChildOutcome& end, const std::string& write_error) {
  const PageVersions pv = parse_versions(end.output);
  const bool wrote = write_error.empty();
  const std::string what =
      fmt::format("writer {}; runner {} after executing {}", wrote ? "overwrote the file" : "got " + write_error,
                  end.describe(), pv.describe());
  if (pv.any(2) || pv.wrong) {
    ADD_FAILURE() << "the runner executed new code: " << what;
  } else if (end.killed_by(SIGBUS) || end.killed_by(SIGKILL)) {
    ctx.note("runner terminated before executing new code: " + what);
  } else if (!end.exited_with(0)) {
    ADD_FAILURE() << "the runner died another way: " << what;
  } else if (!pv.all(1) || pv.versions.size() < 60) {
    ADD_FAILURE() << "the runner did not execute every page: " << what;
  } else if (wrote) {
    ctx.note("the filesystem kept serving the running version: " + what);
  } else if (write_error != std::strerror(ETXTBSY)) {
    ADD_FAILURE() << "the writer failed, but not with ETXTBSY: " << what;
  } else {
    ctx.note(what);
  }
}

void run(CheckContext& ctx) {
  const auto v1 = find_helper("dmmap-conform-runner-v1"), v2 = find_helper("dmmap-conform-runner-v2");
  if (!v1 || !v2) GTEST_SKIP() << "runner helpers not found next to the executable";
  ASSERT_EQ(std::filesystem::file_size(*v1), std::filesystem::file_size(*v2)) << "runner versions differ in layout";
  const auto binary = ctx.path("runner");
  std::optional<BackgroundRunner> runner;
  if (!start_runner(ctx, *v1, binary, kRunnerRank, runner)) return;

  std::string write_error;
  if (ctx.rank() == kWriter) write_error = overwrite_in_place(binary, *v2);
  write_error = ctx.allgather(write_error)[kWriter];
  if (ctx.rank() == kRunnerRank) {
    runner->go();
    judge(ctx, runner->finish(), write_error);
  }
  ctx.barrier();
}

const CheckRegistration check({
    .id = "exec.changed-binary",
    .summary = "a binary overwritten in place by another client is never run as a mix of versions",
    .min_ranks = 2,
    .quick = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
