#include "client_probe.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>
#include <set>

#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"
#include "dmmap/rank_set.hpp"

namespace fs = std::filesystem;

namespace dmmap::conform {
namespace {

// Large enough that page 0's readahead (or a 2 MiB huge page of tmpfs) does
// not reach the last page, the negative control.
constexpr std::size_t kProbeBytes = std::size_t{8} << 20;

RankClient local_facts(const fs::path& scratch) {
  RankClient me;
  struct utsname uts {};
  ::uname(&uts);
  me.hostname = uts.nodename;
  std::ifstream boot("/proc/sys/kernel/random/boot_id");
  if (!std::getline(boot, me.kernel) || me.kernel.empty()) me.kernel = "host " + me.hostname;
  struct stat st {};
  if (::stat(scratch.c_str(), &st) == 0) me.device = fmt::format("{}:{}", major(st.st_dev), minor(st.st_dev));
  return me;
}

Json to_json(const RankClient& r) {
  Json j = Json::object();
  j["hostname"] = r.hostname;
  j["kernel"] = r.kernel;
  j["device"] = r.device;
  return j;
}

RankClient from_json(const Json& j) {
  return {.hostname = j.at("hostname").as_string(),
          .kernel = j.at("kernel").as_string(),
          .device = j.at("device").as_string()};
}

// Ranks of one kernel viewing the scratch directory through one device; the
// same on every rank (computed from the gathered facts).
struct Groups {
  std::vector<int> of_rank;  // group of each rank
  std::vector<int> leader;   // lowest rank of each group
};

Groups group_ranks(const std::vector<RankClient>& facts) {
  Groups g;
  std::map<std::string, int> ids;
  for (std::size_t r = 0; r < facts.size(); ++r) {
    auto [it, added] = ids.emplace(facts[r].kernel + "|" + facts[r].device, static_cast<int>(ids.size()));
    if (added) g.leader.push_back(static_cast<int>(r));
    g.of_rank.push_back(it->second);
  }
  return g;
}

fs::path probe_path(const fs::path& scratch, int group) { return scratch / fmt::format("clients-probe-{}", group); }

// A sparse file: creating it puts no page of it in anyone's cache.
std::string create_probe(const fs::path& file) {
  Fd fd(::open(file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd || ::ftruncate(fd.get(), static_cast<off_t>(kProbeBytes)) != 0)
    return fmt::format("cannot create {}: {}", file.string(), std::strerror(errno));
  return "";
}

struct ProbeView {
  int group;
  Fd fd;
  Mapping map;
};

// Faults in page 0 of the leader's own view with a load, then checks that
// mincore shows exactly that much: "" or why mincore cannot tell here.
std::string fault_and_control(ProbeView& own) {
  ::madvise(own.map.data(), own.map.size(), MADV_RANDOM);
  [[maybe_unused]] const std::uint8_t byte = *static_cast<volatile std::uint8_t*>(own.map.data());
  const std::vector<bool> resident = resident_pages(own.map);
  if (!resident.front()) return "page 0, just faulted in, is not resident to the rank that read it";
  if (resident.back()) return "the probe's last page, never read, is resident";
  return "";
}

// 'S' page 0 resident (shares the leader's cache), 'D' nothing resident,
// '?' something else resident but not page 0 (counted as shared).
char look(const ProbeView& view) {
  const std::vector<bool> resident = resident_pages(view.map);
  if (resident.front()) return 'S';
  return std::find(resident.begin(), resident.end(), true) == resident.end() ? 'D' : '?';
}

int root_of(std::vector<int>& parent, int r) {
  while (parent[static_cast<std::size_t>(r)] != r)
    r = parent[static_cast<std::size_t>(r)] = parent[static_cast<std::size_t>(parent[static_cast<std::size_t>(r)])];
  return r;
}

void join(std::vector<int>& parent, int a, int b) {
  parent[static_cast<std::size_t>(root_of(parent, a))] = root_of(parent, b);
}

// Every rank's report of the probe: {"problem": "...", "seen": {"group": "S|D|?"}}.
ClientMap conclude(std::vector<RankClient> facts, const Groups& groups, const std::vector<Json>& reports) {
  const std::size_t n = facts.size();
  std::vector<int> parent(n);
  std::iota(parent.begin(), parent.end(), 0);
  std::map<std::string, std::string> unusable;  // kernel -> why mincore cannot tell there
  for (std::size_t r = 0; r < n; ++r) {
    const std::string problem = reports[r].at("problem").as_string();
    if (!problem.empty() && !unusable.count(facts[r].kernel))
      unusable[facts[r].kernel] = fmt::format("rank {} on {}: {}", r, facts[r].hostname, problem);
    for (auto& [group, seen] : reports[r].at("seen").as_object())
      if (seen.as_string() != "D") join(parent, static_cast<int>(r), groups.leader.at(std::stoul(group)));
  }
  std::map<std::string, int> first_of_kernel;
  for (std::size_t r = 0; r < n; ++r) {
    auto [it, added] = first_of_kernel.emplace(facts[r].kernel, static_cast<int>(r));
    if (unusable.count(facts[r].kernel)) join(parent, static_cast<int>(r), it->second);
  }
  for (std::size_t r = 0; r < n; ++r) facts[r].client = root_of(parent, static_cast<int>(r));
  std::string basis = fmt::format("mincore probe of the page cache on {} kernel{}", first_of_kernel.size(),
                                  first_of_kernel.size() == 1 ? "" : "s");
  for (auto& [kernel, why] : unusable)
    basis += fmt::format("; mincore cannot tell ({}), so that kernel's ranks count as one client", why);
  return ClientMap(std::move(facts), basis);
}

// This rank's views of the probe files of every group on its kernel; a
// problem opening one is reported, not thrown (the probe must stay collective).
std::vector<ProbeView> open_views(const fs::path& scratch, const std::vector<RankClient>& facts, const Groups& groups,
                                  int me, std::string& problem) {
  std::vector<ProbeView> views;
  for (std::size_t g = 0; g < groups.leader.size(); ++g) {
    if (facts[static_cast<std::size_t>(groups.leader[g])].kernel != facts[static_cast<std::size_t>(me)].kernel)
      continue;
    try {
      Fd fd = open_when_visible(probe_path(scratch, static_cast<int>(g)), O_RDWR);
      Mapping map(fd.get(), kProbeBytes, PROT_READ, MAP_SHARED);
      views.push_back({static_cast<int>(g), std::move(fd), std::move(map)});
    } catch (const std::exception& e) {
      if (problem.empty()) problem = e.what();
    }
  }
  return views;
}

}  // namespace

ClientMap detect_clients(Sync& sync, const fs::path& scratch) {
  sync.begin_phase("client detection");
  std::vector<RankClient> facts;
  for (auto& text : sync.allgather(to_json(local_facts(scratch)).dump())) facts.push_back(from_json(Json::parse(text)));
  const Groups groups = group_ranks(facts);
  const int me = sync.rank();
  const int my_group = groups.of_rank[static_cast<std::size_t>(me)];
  const bool leader = groups.leader[static_cast<std::size_t>(my_group)] == me;
  const fs::path own = probe_path(scratch, my_group);
  std::string problem = leader ? create_probe(own) : "";
  const Unlinker unlink_own(leader ? own : fs::path());
  sync.barrier();  // every probe file exists
  std::vector<ProbeView> views = open_views(scratch, facts, groups, me, problem);
  sync.barrier();  // every rank has mapped before anything is faulted in
  for (auto& v : views)
    if (leader && v.group == my_group && problem.empty()) problem = fault_and_control(v);
  sync.barrier();
  Json report = Json::object();
  Json seen = Json::object();
  for (auto& v : views) seen[std::to_string(v.group)] = std::string(1, look(v));
  report["problem"] = problem;
  report["seen"] = std::move(seen);
  std::vector<Json> reports;
  for (auto& text : sync.allgather(report.dump())) reports.push_back(Json::parse(text));
  views.clear();
  sync.finish_phase({});
  return conclude(std::move(facts), groups, reports);
}

}  // namespace dmmap::conform
