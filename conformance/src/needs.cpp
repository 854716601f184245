#include "needs.hpp"

#include <fmt/format.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cstring>
#include <sstream>

#include "dmmap/probe/child.hpp"
#include "dmmap/rank_set.hpp"

namespace fs = std::filesystem;

namespace dmmap::conform {
namespace {

std::string join(const std::vector<std::string>& words, const char* separator) {
  std::string out;
  for (auto& w : words) out += (out.empty() ? "" : separator) + w;
  return out;
}

// A check starts processes if it says so, and when it calls a hook that is set
// (the framework runs it as a child).
bool needs_fork(const CheckInfo& info, const RunParams& params) {
  return info.forks || (!info.hook_actions.empty() && !params.hook.empty());
}

// This rank's side of the collective part, its first line: "H" (a hook) or
// "-", "X" (the target is mounted noexec) or "-", then "-", or "F ERRNO" when
// the check starts processes and this rank cannot; then the names of the
// declared helpers it cannot find, one a line.
std::string local_report(const CheckInfo& info, const RunParams& params, const fs::path& scratch,
                         std::map<std::string, fs::path>& found) {
  std::string report = params.hook.empty() ? "-" : "H";
  struct statvfs vfs {};
  report += info.runs_from_target && ::statvfs(scratch.c_str(), &vfs) == 0 && (vfs.f_flag & ST_NOEXEC) ? "X" : "-";
  const int no_fork = needs_fork(info, params) ? fork_error() : 0;
  report += no_fork != 0 ? fmt::format("F {}", no_fork) : "-";
  for (auto& name : info.helpers) {
    if (auto path = find_helper(name))
      found[name] = *path;
    else
      report += "\n" + name;
  }
  return report;
}

// The helpers a rank's report says it lacks.
std::vector<std::string> missing_helpers(const std::string& report) {
  std::vector<std::string> names;
  std::istringstream lines(report);
  std::string line;
  std::getline(lines, line);  // the flags
  while (std::getline(lines, line))
    if (!line.empty()) names.push_back(line);
  return names;
}

// "cannot start a process on ranks {0,1}: Operation not permitted", or "".
std::string no_fork_reason(const std::vector<std::string>& reports) {
  std::vector<int> ranks;
  int error = 0;
  for (std::size_t r = 0; r < reports.size(); ++r) {
    if (reports[r].at(2) != 'F') continue;
    ranks.push_back(static_cast<int>(r));
    if (error == 0) error = std::stoi(reports[r].substr(4, reports[r].find('\n')));
  }
  if (ranks.empty()) return "";
  return fmt::format("this check starts processes and ranks {} cannot fork: {}", format_ranks(ranks),
                     std::strerror(error));
}

// The first unmet need among every rank's reports, or "".
std::string first_unmet(const CheckInfo& info, const std::vector<std::string>& reports) {
  std::vector<int> noexec;
  for (std::size_t r = 0; r < reports.size(); ++r)
    if (reports[r].at(1) == 'X') noexec.push_back(static_cast<int>(r));
  if (!noexec.empty())
    return fmt::format("the target is mounted noexec on ranks {}: programs stored on it cannot run",
                       format_ranks(noexec));
  for (auto& name : info.helpers) {
    std::vector<int> missing;
    for (std::size_t r = 0; r < reports.size(); ++r) {
      const auto lacks = missing_helpers(reports[r]);
      if (std::find(lacks.begin(), lacks.end(), name) != lacks.end()) missing.push_back(static_cast<int>(r));
    }
    if (missing.size() == reports.size()) return fmt::format("helper {} not found next to the executable", name);
    if (!missing.empty())
      return fmt::format("helper {} not found next to the executable on ranks {}", name, format_ranks(missing));
  }
  if (!info.hook_actions.empty())
    for (auto& report : reports)
      if (report.at(0) != 'H') return no_hook_reason(info.hook_actions.front());
  return no_fork_reason(reports);
}

}  // namespace

int fork_error() {
  static const int error = [] {
    ChildOptions options;
    options.timeout = std::chrono::seconds(10);
    AsyncChild child = AsyncChild::fork([] { return 0; }, options);
    const ChildOutcome& end = child.wait();
    return end.kind == ChildOutcome::Kind::spawn_failed ? end.code : 0;
  }();
  return error;
}

std::optional<fs::path> find_helper(const std::string& name) {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return std::nullopt;
  for (fs::path dir : {self.parent_path(), self.parent_path().parent_path()})
    if (fs::exists(dir / name, ec)) return dir / name;
  return std::nullopt;
}

NeedsVerdict check_needs(const CheckInfo& info, Sync& sync, int started, const RunParams& params,
                         const fs::path& scratch) {
  NeedsVerdict v;
  if (started < info.min_ranks) {
    v.unmet = fmt::format("needs {} ranks, {} started", info.min_ranks, started);
    return v;
  }
  if (info.helpers.empty() && info.hook_actions.empty() && !info.runs_from_target && !info.forks) return v;
  v.unmet = first_unmet(info, sync.allgather(local_report(info, params, scratch, v.helpers)));
  return v;
}

std::string describe_needs(const CheckInfo& info) {
  std::vector<std::string> parts;
  if (info.distinct_clients) parts.push_back("2 clients");
  if (info.runs_from_target) parts.push_back("exec");
  if (info.forks) parts.push_back("fork");
  if (!info.hook_actions.empty()) parts.push_back("hook: " + join(info.hook_actions, ","));
  if (!info.helpers.empty()) parts.push_back("helpers: " + join(info.helpers, ","));
  return join(parts, "; ");
}

}  // namespace dmmap::conform
