#include "dmmap/environment.hpp"

#include <fmt/format.h>
#include <hwloc.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "dmmap/mpi_session.hpp"

namespace fs = std::filesystem;

namespace dmmap {
namespace {

std::string magic_name(unsigned long magic) {
  switch (magic) {
    case 0x01021994: return "tmpfs";
    case 0xEF53: return "ext2/3/4";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x6969: return "nfs";
    case 0x65735546: return "fuse";
    case 0x01021997: return "9p";
    case 0x794c7630: return "overlayfs";
    case 0x0BD00BD0: return "lustre";
    case 0x47504653: return "gpfs";
    case 0x7461636f: return "ocfs2";
    case 0x01161970: return "gfs2";
    case 0x00C36400: return "ceph";
    case 0xFF534D42: return "cifs";
    case 0x858458f6: return "ramfs";
    case 0x444d4653: return "dmfs";  // "DMFS", the reference backend
  }
  return fmt::format("0x{:x}", magic);
}

// mountinfo escapes spaces and friends as \ooo.
std::string unescape(const std::string& field) {
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      out += static_cast<char>(std::strtol(field.substr(i + 1, 3).c_str(), nullptr, 8));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

// The mountinfo line whose device matches `path` and whose mount point is the
// longest prefix of it (bind mounts share a device).
void find_mount(const fs::path& path, FilesystemInfo& info) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return;
  const std::string device = fmt::format("{}:{}", major(st.st_dev), minor(st.st_dev));
  std::error_code ec;
  const std::string real = fs::weakly_canonical(path, ec).string();
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  std::size_t best = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mount_point, options;
    fields >> id >> parent >> dev >> root >> mount_point >> options;
    if (dev != device) continue;
    mount_point = unescape(mount_point);
    bool prefix = real == mount_point || mount_point == "/" ||
                  (real.rfind(mount_point, 0) == 0 && real.size() > mount_point.size() &&
                   real[mount_point.size()] == '/');
    if (!prefix || mount_point.size() < best) continue;
    best = mount_point.size();
    info.mountinfo = line;
    info.mount_point = mount_point;
    // After the optional fields comes " - fstype source super-options".
    auto dash = line.find(" - ");
    std::istringstream tail(dash == std::string::npos ? "" : line.substr(dash + 3));
    std::string super_options;
    tail >> info.fs_type >> info.source >> super_options;
    info.options = options + (super_options.empty() ? "" : "," + super_options);
  }
}

std::string read_line(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

std::vector<std::string> split_options(const std::string& options) {
  std::vector<std::string> out;
  std::istringstream in(options);
  for (std::string option; std::getline(in, option, ',');)
    if (!option.empty()) out.push_back(option);
  return out;
}

// The kernel module behind a mountinfo type: "fuse.bindfs" is fuse's, "nfs4" nfs's.
std::string module_of(const std::string& fs_type) {
  const std::string base = fs_type.substr(0, fs_type.find('.'));
  return base == "nfs4" ? "nfs" : base;
}

std::string filesystem_version(const FilesystemInfo& info) {
  for (const auto& option : split_options(info.options))
    if (option.rfind("vers=", 0) == 0) return fmt::format("{} {}", info.fs_type, option);
  if (info.type == "lustre") {
    const std::string lustre = read_line("/sys/fs/lustre/version");  // what `lctl get_param version` reads
    if (!lustre.empty()) return "lustre " + lustre;
  }
  const std::string module = read_line(fs::path("/sys/module") / module_of(info.fs_type) / "version");
  return module.empty() ? "" : fmt::format("{} module {}", module_of(info.fs_type), module);
}

bool is_cache_option(const std::string& option) {
  static const char* const names[] = {
      "ac",       "noac",       "actimeo",  "acregmin",   "acregmax",   "acdirmin",     "acdirmax",     "lookupcache",
      "cto",      "nocto",      "fsc",      "nofsc",      "sharecache", "nosharecache", "cache",        "dcache",
      "nodcache", "local_lock", "flock",    "localflock", "noflock",    "direct_io",    "kernel_cache", "auto_cache",
      "dax",      "sync",       "lazytime", "rsize",      "wsize",      "rasize"};
  const std::string name = option.substr(0, option.find('='));
  for (const char* n : names)
    if (name == n) return true;
  return false;
}

std::vector<std::string> cache_modes(const FilesystemInfo& info) {
  std::vector<std::string> modes;
  for (const auto& option : split_options(info.options))
    if (is_cache_option(option)) modes.push_back(option);
  const auto from_options = static_cast<long>(modes.size());
  std::error_code ec;
  const fs::path parameters = fs::path("/sys/module") / module_of(info.fs_type) / "parameters";
  for (const auto& entry : fs::directory_iterator(parameters, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find("cache") != std::string::npos) modes.push_back(fmt::format("{}={}", name, read_line(entry.path())));
  }
  std::sort(modes.begin() + from_options, modes.end());  // directory order is arbitrary
  return modes;
}

Json topology_summary(std::string& binding) {
  hwloc_topology_t topology;
  Json out = Json::object();
  if (hwloc_topology_init(&topology) != 0 || hwloc_topology_load(topology) != 0) {
    binding = "unknown";
    return out;
  }
  out["packages"] = hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_PACKAGE);
  out["cores"] = hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_CORE);
  out["pus"] = hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_PU);
  out["numa_nodes"] = hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_NUMANODE);
  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  char* text = nullptr;
  if (hwloc_get_cpubind(topology, set, HWLOC_CPUBIND_PROCESS) == 0 && hwloc_bitmap_list_asprintf(&text, set) >= 0) {
    bool all = hwloc_bitmap_isequal(set, hwloc_topology_get_topology_cpuset(topology));
    binding = fmt::format("PU {}{}", text, all ? " (unbound)" : "");
    std::free(text);
  } else {
    binding = "unknown";
  }
  hwloc_bitmap_free(set);
  hwloc_topology_destroy(topology);
  return out;
}

}  // namespace

FilesystemInfo describe_filesystem(const fs::path& path) {
  FilesystemInfo info;
  struct statfs sfs {};
  if (::statfs(path.c_str(), &sfs) == 0) {
    info.magic = static_cast<unsigned long>(sfs.f_type);
    info.type = magic_name(info.magic);
  }
  find_mount(path, info);
  info.version = filesystem_version(info);
  info.cache_modes = cache_modes(info);
  return info;
}

Json local_environment(const fs::path& view) {
  Json env = Json::object();
  struct utsname uts {};
  ::uname(&uts);
  env["hostname"] = uts.nodename;
  env["kernel"] = uts.release;
  env["machine"] = uts.machine;
  std::string binding;
  env["topology"] = topology_summary(binding);
  env["binding"] = binding;
  FilesystemInfo fsinfo = describe_filesystem(view);
  Json fsj = Json::object();
  fsj["view"] = view.string();
  fsj["type"] = fsinfo.type;
  fsj["magic"] = fmt::format("0x{:x}", fsinfo.magic);
  fsj["fs_type"] = fsinfo.fs_type;
  fsj["source"] = fsinfo.source;
  fsj["mount_point"] = fsinfo.mount_point;
  fsj["options"] = fsinfo.options;
  fsj["mountinfo"] = fsinfo.mountinfo;
  if (!fsinfo.version.empty()) fsj["version"] = fsinfo.version;
  Json modes = Json::array();
  for (const auto& m : fsinfo.cache_modes) modes.push_back(m);
  fsj["cache_modes"] = std::move(modes);
  env["filesystem"] = fsj;
  return env;
}

Json gather_environment(Sync& sync, const fs::path& view) {
  sync.begin_phase("environment capture");
  auto all = sync.finish_phase(local_environment(view).dump());  // to rank 0 only
  Json env = Json::object();
  env["ranks_total"] = sync.size();
  env["mpi_library"] = mpi_library_version();
  Json ranks = Json::array();
  for (std::size_t r = 0; r < all.size(); ++r) {
    if (all[r].empty()) continue;  // elsewhere than on rank 0 only rank 0's entry came back
    Json one = Json::parse(all[r]);
    one["rank"] = static_cast<int>(r);
    ranks.push_back(std::move(one));
  }
  env["ranks"] = std::move(ranks);
  return env;
}

}  // namespace dmmap
