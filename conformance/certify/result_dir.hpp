// The result directory RESULTDIR/dmmap-HOST-TIME/ (rank 0): created empty at
// the start, filled during the run, sealed by result.json, packed as DIR.tgz.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

namespace dmmap::certify {

class ResultDir {
 public:
  // Creates the directory, never reusing one: a run started in the same second
  // as an earlier one gets dmmap-HOST-TIME-2 (-3, ...); throws std::runtime_error.
  ResultDir(const std::filesystem::path& resultdir, const std::string& host,
            std::chrono::system_clock::time_point started);

  const std::filesystem::path& path() const { return path_; }
  // The start time, ISO 8601 in UTC ("2026-12-02T01:55:32Z").
  const std::string& created() const { return created_; }
  // Writes `relative` (parents created); throws std::runtime_error.
  void write(const std::string& relative, const std::string& content) const;
  // DIR.tgz beside DIR (tar, gzip); returns its path; throws std::runtime_error.
  std::filesystem::path pack() const;

 private:
  std::filesystem::path path_;
  std::string created_;
};

}  // namespace dmmap::certify
