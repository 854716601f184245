#include "dmmap/target.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "dmmap/rank_set.hpp"

namespace fs = std::filesystem;

namespace dmmap {
namespace {

constexpr const char* kMarker = ".dmmap-marker";

std::string random_token() {
  std::random_device device;
  return fmt::format("{:016x}{:08x}", (static_cast<unsigned long long>(device()) << 32) | device(), device());
}

std::string hostname() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

// Reads the marker through this rank's view; a networked filesystem may take
// a moment to show a new entry, so look a few times before giving up.
bool marker_visible(const fs::path& dir, const std::string& token) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    std::ifstream in(dir / kMarker);
    std::string seen;
    if (in && std::getline(in, seen) && seen == token) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// Collects each rank's complaint (empty = fine) and throws one error naming all.
void fail_if_any(Sync& sync, const std::string& complaint) {
  auto all = sync.allgather(complaint);
  std::string message;
  for (std::size_t r = 0; r < all.size(); ++r)
    if (!all[r].empty()) message += fmt::format("{}rank {}: {}", message.empty() ? "" : "\n", r, all[r]);
  if (!message.empty()) throw TargetError(message);
}

}  // namespace

fs::path TargetSpec::view_for(int rank) const { return views.at(static_cast<std::size_t>(rank) % views.size()); }

TargetSpec TargetSpec::parse_dirs(const std::string& comma_list) {
  TargetSpec spec;
  std::stringstream in(comma_list);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) spec.views.emplace_back(item);
  return spec;
}

std::optional<std::string> check_view(const fs::path& view) {
  struct stat st {};
  if (::stat(view.c_str(), &st) != 0)
    return fmt::format("target {} cannot be used: {}", view.string(), std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) return fmt::format("target {} is not a directory", view.string());
  struct statvfs vfs {};
  if (::statvfs(view.c_str(), &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
    return fmt::format("target {} is on a read-only filesystem", view.string());
  if (::access(view.c_str(), W_OK | X_OK) != 0)
    return fmt::format("target {} is not writable: {}", view.string(), std::strerror(errno));
  return std::nullopt;
}

ScratchArea::ScratchArea(Sync& sync, const TargetSpec& spec, bool keep) : keep_(keep) {
  sync.begin_phase("scratch set-up");
  view_ = spec.view_for(sync.rank());
  fail_if_any(sync, check_view(view_).value_or(""));

  // Rank 0 creates the directory and the marker; everyone learns its name.
  std::string created, complaint;
  if (sync.rank() == 0) {
    std::string name = fmt::format("dmmap-{}-{}-{}", hostname(), ::getpid(), random_token().substr(0, 8));
    std::string token = random_token();
    fs::path dir = view_ / name;
    if (::mkdir(dir.c_str(), 0755) != 0) {
      complaint = fmt::format("cannot create scratch directory {}: {}", dir.string(), std::strerror(errno));
    } else {
      owner_ = true;
      name_ = name;
      path_ = dir;
      std::ofstream marker(dir / kMarker);
      marker << token << '\n';
      marker.close();
      if (!marker) complaint = fmt::format("cannot write {}: {}", (dir / kMarker).string(), std::strerror(errno));
      created = name + "\n" + token;
    }
  }
  try {
    fail_if_any(sync, complaint);
    std::string shared = sync.broadcast(created);
    auto nl = shared.find('\n');
    name_ = shared.substr(0, nl);
    path_ = view_ / name_;
    const std::string token = shared.substr(nl + 1);
    fail_if_any(sync, marker_visible(path_, token)
                          ? ""
                          : fmt::format("cannot see the marker rank 0 wrote: {} is not a view of the same "
                                        "filesystem directory as rank 0's {}",
                                        view_.string(), spec.view_for(0).string()));
    sync.finish_phase({});
  } catch (...) {
    remove();  // leave nothing behind
    throw;
  }
}

ScratchArea::~ScratchArea() { remove(); }

void ScratchArea::remove() noexcept {
  if (!owner_ || keep_) return;
  std::error_code ignored;
  fs::remove_all(path_, ignored);
  owner_ = false;
}

}  // namespace dmmap
