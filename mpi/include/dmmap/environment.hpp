// What a result was measured on, so a report can be read alone a year later.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "dmmap/json.hpp"
#include "dmmap/sync.hpp"

namespace dmmap {

struct FilesystemInfo {
  std::string type;                                   // "tmpfs", "nfs", "fuse", or the hex magic when unknown
  unsigned long magic = 0;                            // statfs f_type
  std::string mountinfo;                              // the /proc/self/mountinfo line of the mount holding the path
  std::string mount_point, fs_type, source, options;  // fields of that line
  // Where the system says it: the protocol version in the mount options
  // (NFS, SMB), /sys/fs/lustre/version, the module's /sys/module/TYPE/version.
  std::string version;
  // The client cache settings readable here: cache-related mount options,
  // and the filesystem module's parameters about caching.
  std::vector<std::string> cache_modes;
};
FilesystemInfo describe_filesystem(const std::filesystem::path& path);

// This rank's environment: hostname, kernel, binding, filesystem of `view`.
Json local_environment(const std::filesystem::path& view);
// Gathers every rank's environment to rank 0 (collective): run-wide facts
// once, per-rank facts in "ranks" - every rank's on rank 0, rank 0's alone
// elsewhere (what the others may rely on, e.g. rank 0's filesystem type).
Json gather_environment(Sync& sync, const std::filesystem::path& view);

}  // namespace dmmap
