#include "exec_util.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <system_error>

#include "dmmap/probe/files.hpp"

namespace fs = std::filesystem;

namespace dmmap::conform {

void copy_file_to(const fs::path& from, const fs::path& to, mode_t mode) {
  Fd in = open_file(from, O_RDONLY);
  struct stat st {};
  if (::fstat(in.get(), &st) != 0) throw std::system_error(errno, std::generic_category(), "fstat " + from.string());
  auto bytes = pread_exact(in.get(), static_cast<std::size_t>(st.st_size), 0);
  Fd out = open_file(to, O_WRONLY | O_CREAT | O_TRUNC, mode);
  // In pieces of the runner's block: one large write makes large folios on
  // this client, and a folio one mapped page pins cannot be evicted, so the
  // runner's eviction would not take where this client also runs it.
  for (std::size_t at = 0; at < bytes.size(); at += kRunnerBlock)
    pwrite_exact(out.get(), bytes.data() + at, std::min(kRunnerBlock, bytes.size() - at), static_cast<off_t>(at));
  fsync_file(out.get());
  if (::fchmod(out.get(), mode) != 0) throw std::system_error(errno, std::generic_category(), "fchmod " + to.string());
}

PageVersions parse_versions(const std::string& output) {
  PageVersions pv;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    int page = 0, version = 0, resident = 0;
    if (std::sscanf(line.c_str(), "evict: %d of", &resident) == 1) {
      pv.still_resident = resident;
      continue;
    }
    if (line.rfind("evict: ", 0) == 0) {
      pv.evict_errors.push_back(line.substr(7));
      continue;
    }
    if (std::sscanf(line.c_str(), "page %d version %d", &page, &version) != 2) continue;
    if (page != static_cast<int>(pv.versions.size())) pv.wrong = true;
    pv.versions.push_back(version);
    if (line.find("wrong function") != std::string::npos) pv.wrong = true;
  }
  return pv;
}

std::string PageVersions::describe() const {
  if (versions.empty()) return "no page executed";
  std::string out;
  std::size_t start = 0;
  for (std::size_t i = 1; i <= versions.size(); ++i) {
    if (i < versions.size() && versions[i] == versions[start]) continue;
    out += fmt::format("{}pages {}-{} version {}", out.empty() ? "" : ", ", start, i - 1, versions[start]);
    start = i;
  }
  return out;
}

std::string PageVersions::describe_eviction() const {
  std::string out = still_resident
                        ? fmt::format("{} of {} pages still resident after eviction", *still_resident, kRunnerPages - 1)
                        : "eviction not reported";
  for (auto& e : evict_errors) out += "; " + e;
  return out;
}

bool PageVersions::all(int version) const {
  for (int v : versions)
    if (v != version) return false;
  return !versions.empty();
}

bool PageVersions::any(int version) const {
  for (int v : versions)
    if (v == version) return true;
  return false;
}

ExecRunner::ExecRunner(fs::path binary, std::chrono::milliseconds deadline)
    : deadline_(std::chrono::steady_clock::now() + deadline) {
  // READY/GO live in the node's temporary directory ($TMPDIR, else /tmp):
  // the filesystem under test must not carry the handshake.
  std::string tmpl = (fs::temp_directory_path() / "dmmap-runner-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::system_error(errno, std::generic_category(), "mkdtemp " + tmpl);
  local_dir_ = tmpl;
  ChildOptions options;
  options.timeout = deadline;
  options.capture_stdout = true;
  child_.emplace(AsyncChild::spawn(
      {binary.string(), "wait", (local_dir_ / "ready").string(), (local_dir_ / "go").string()}, options));
}

ExecRunner::~ExecRunner() {
  if (child_ && !child_->ended()) {
    go();  // a runner must never outlive its check: released, it runs to its end
    finish();
  }
  std::error_code ec;
  fs::remove_all(local_dir_, ec);
}

bool ExecRunner::wait_ready() {
  while (std::chrono::steady_clock::now() < deadline_) {
    if (fs::exists(local_dir_ / "ready")) return true;
    if (child_->ended()) return false;
    ::usleep(1000);
  }
  return false;
}

bool ExecRunner::stop() {
  // A runner waiting for GO sleeps 1 ms at a time: it stops at once.
  if (child_->stop(std::chrono::seconds(5))) return true;
  ADD_FAILURE() << "the runner did not stop (SIGSTOP): "
                << (child_->ended() ? child_->outcome().describe() : "it runs");
  return false;
}

void ExecRunner::go() {
  Fd fd(::open((local_dir_ / "go").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  child_->resume();
}

const ChildOutcome& ExecRunner::finish() { return child_->wait(); }

const fs::path& runner_v1(const CheckContext& ctx) { return ctx.helper(kRunnerV1); }

const fs::path& runner_v2(const CheckContext& ctx) { return ctx.helper(kRunnerV2); }

bool start_runner(CheckContext& ctx, const fs::path& binary, std::optional<ExecRunner>& runner) {
  if (ctx.rank() == 0) copy_file_to(runner_v1(ctx), binary, 0755);
  ctx.barrier();
  bool ready = true;
  if (ctx.rank() == kRunnerRank) {
    runner.emplace(binary, ctx.sync_timeout());
    ready = runner->wait_ready();
    if (!ready) {
      runner->go();  // release a runner that is merely slow, so that finish() cannot block
      ADD_FAILURE() << "the runner did not start: " << runner->finish().describe();
    }
  }
  return ctx.all(ready);
}

std::string overwrite_in_place(const fs::path& target, const fs::path& replacement) {
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

std::string try_open_for_writing(const fs::path& target) {
  Fd out(::open(target.c_str(), O_WRONLY | O_CLOEXEC));
  return out ? "" : std::strerror(errno);
}

std::string local_deny_write_control(CheckContext& ctx, int rank) {
  std::string error;
  if (ctx.rank() == rank) {
    const auto binary = ctx.path("local-control");
    copy_file_to(runner_v1(ctx), binary, 0755);
    ExecRunner control(binary, ctx.sync_timeout());
    if (!control.wait_ready()) {
      control.go();
      throw std::runtime_error("the same-client control runner did not start: " + control.finish().describe());
    }
    error = try_open_for_writing(binary);
    control.go();
    control.finish();
    ctx.note(error.empty() ? "control: a writer on the runner's own client may open a running binary (the kernel "
                             "gives no ETXTBSY even on one node)"
                           : "control: a writer on the runner's own client gets " + error);
  }
  return ctx.allgather(error)[static_cast<std::size_t>(rank)];
}

void Judgement::record(CheckContext& ctx) const {
  if (!failure.empty()) {
    ADD_FAILURE() << failure;
  } else if (!skip.empty()) {
    GTEST_SKIP() << skip;
  } else if (!note.empty()) {
    ctx.note(note);
  }
}

Judgement judge_changed(const ChildOutcome& end, const ChildOutcome& control, const std::string& write_error) {
  const PageVersions pv = parse_versions(end.output), cv = parse_versions(control.output);
  const bool wrote = write_error.empty();
  const std::string what = fmt::format("writer {}; runner {} after executing {}; {}",
                                       wrote ? "overwrote the file" : "got " + write_error, end.describe(),
                                       pv.describe(), pv.describe_eviction());
  const std::string control_what = fmt::format("the unchanged control binary on the same client {} after executing {}",
                                               control.describe(), cv.describe());
  if (pv.any(2) || pv.wrong) return {.failure = "the runner executed new code: " + what};
  if (end.killed_by(SIGBUS) || end.killed_by(SIGKILL)) {
    if (!(control.exited_with(0) && cv.complete(1)))
      return {.failure = "the runner was terminated, and so was what did not change: " + what + "; " + control_what +
                         " (a client that kills every binary is not safe termination)"};
    if (!cv.evicted())
      return {.skip = "the runner was terminated, but the unchanged control binary's pages stayed resident (" +
                      cv.describe_eviction() +
                      "): that the client serves an unchanged binary at a fault is not shown; " + what};
    return {.note = "runner terminated before executing new code, while the unchanged control binary ran on: " + what};
  }
  if (!end.exited_with(0)) return {.failure = "the runner died another way: " + what};
  if (!pv.complete(1)) return {.failure = "the runner did not execute every page: " + what};
  if (wrote) {
    if (!pv.evicted())
      return {.skip = "the file was overwritten and the runner ran on with its old code, but its pages were not "
                      "evicted: they came from this client's cache, not from the filesystem at a fault; " +
                      what};
    return {.note = "the filesystem kept serving the running version: " + what};
  }
  if (write_error != std::strerror(ETXTBSY)) return {.failure = "the writer failed, but not with ETXTBSY: " + what};
  return {.note = what};
}

Judgement judge_changed_after_eviction(const ChildOutcome& end, const ChildOutcome& control,
                                       const std::string& write_error) {
  if (write_error != std::strerror(ETXTBSY)) return judge_changed(end, control, write_error);
  const PageVersions pv = parse_versions(end.output);
  const std::string what = fmt::format("runner {} after executing {}", end.describe(), pv.describe());
  if (!end.exited_with(0) || !pv.complete(1))
    return {.failure = "the writer got " + write_error + ", so the binary never changed, yet its " + what};
  return {.skip = "the writer got " + write_error +
                  " after the eviction: the running binary was still protected (the client's exec registration "
                  "survived the eviction or was set again before any fault), so it never changed and the "
                  "recovered client's check at a fault was not exercised; " +
                  what};
}

}  // namespace dmmap::conform
