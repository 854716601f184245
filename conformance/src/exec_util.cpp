#include "exec_util.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

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
  pwrite_exact(out.get(), bytes.data(), bytes.size(), 0);
  fsync_file(out.get());
  if (::fchmod(out.get(), mode) != 0) throw std::system_error(errno, std::generic_category(), "fchmod " + to.string());
}

PageVersions parse_versions(const std::string& output) {
  PageVersions pv;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    int page = 0, version = 0;
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

ExecRunner::ExecRunner(fs::path binary) {
  // READY/GO live in the node's temporary directory ($TMPDIR, else /tmp):
  // the filesystem under test must not carry the handshake.
  std::string tmpl = (fs::temp_directory_path() / "dmmap-runner-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::system_error(errno, std::generic_category(), "mkdtemp " + tmpl);
  local_dir_ = tmpl;
  ChildOptions options;
  options.timeout = std::chrono::seconds(90);
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

bool ExecRunner::wait_ready(int seconds) {
  for (int i = 0; i < seconds * 1000; ++i) {
    if (fs::exists(local_dir_ / "ready")) return true;
    if (child_->ended()) return false;
    ::usleep(1000);
  }
  return false;
}

void ExecRunner::go() { Fd fd(::open((local_dir_ / "go").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644)); }

const ChildOutcome& ExecRunner::finish() { return child_->wait(); }

const fs::path& runner_v1(const CheckContext& ctx) { return ctx.helper(kRunnerV1); }

const fs::path& runner_v2(const CheckContext& ctx) { return ctx.helper(kRunnerV2); }

bool start_runner(CheckContext& ctx, const fs::path& binary, std::optional<ExecRunner>& runner) {
  if (ctx.rank() == 0) copy_file_to(runner_v1(ctx), binary, 0755);
  ctx.barrier();
  bool ready = true;
  if (ctx.rank() == kRunnerRank) {
    runner.emplace(binary);
    ready = runner->wait_ready(30);
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

void judge_changed_runner(CheckContext& ctx, const ChildOutcome& end, const std::string& write_error) {
  const PageVersions pv = parse_versions(end.output);
  const bool wrote = write_error.empty();
  const std::string what = fmt::format("writer {}; runner {} after executing {}",
                                       wrote ? "overwrote the file" : "got " + write_error, end.describe(),
                                       pv.describe());
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

}  // namespace dmmap::conform
