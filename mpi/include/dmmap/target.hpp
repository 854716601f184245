// Which directory each rank works in, and the run's scratch area inside it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dmmap/sync.hpp"

namespace dmmap {

// --dir PATH (every rank) or --dirs P0,P1,... (rank i uses P[i mod n]).
struct TargetSpec {
  std::vector<std::filesystem::path> views;
  std::filesystem::path view_for(int rank) const;
  bool empty() const { return views.empty(); }
  static TargetSpec parse_dirs(const std::string& comma_list);
};

// Why this rank cannot use `view`, or nothing when it can.
std::optional<std::string> check_view(const std::filesystem::path& view);

// The run's own scratch subdirectory: created by rank 0 in its view, verified
// by every rank through its own view (a marker file), removed at the end
// unless kept. Construction is collective and throws TargetError with a
// message naming the ranks when a rank cannot use the target.
struct TargetError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class ScratchArea {
 public:
  ScratchArea(Sync& sync, const TargetSpec& spec, bool keep);
  ScratchArea(const ScratchArea&) = delete;
  ScratchArea& operator=(const ScratchArea&) = delete;
  ~ScratchArea();

  // This rank's path to the scratch directory.
  const std::filesystem::path& path() const { return path_; }
  const std::filesystem::path& view() const { return view_; }
  const std::string& name() const { return name_; }
  // Removes the scratch directory now (rank 0; no-op elsewhere or when kept).
  void remove() noexcept;

 private:
  std::filesystem::path view_, path_;
  std::string name_;
  bool keep_ = false;
  bool owner_ = false;  // rank 0 created it and removes it
};

}  // namespace dmmap
