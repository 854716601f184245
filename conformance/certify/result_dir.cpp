#include "result_dir.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <stdexcept>

#include "dmmap/probe/child.hpp"

namespace fs = std::filesystem;

namespace dmmap::certify {

namespace {

std::string utc(std::chrono::system_clock::time_point t, const char* format) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char text[64];
  return std::string(text, std::strftime(text, sizeof text, format, &tm));
}

}  // namespace

ResultDir::ResultDir(const fs::path& resultdir, const std::string& host,
                     std::chrono::system_clock::time_point started) {
  created_ = utc(started, "%Y-%m-%dT%H:%M:%SZ");
  const fs::path base = fs::absolute(resultdir) / fmt::format("dmmap-{}-{}", host, utc(started, "%Y%m%dT%H%M%SZ"));
  std::error_code ec;
  fs::create_directories(base.parent_path(), ec);
  // Runs started in the same second (a script's loop, two jobs of one array)
  // each get their own directory: BASE, BASE-2, BASE-3, ...; mkdir decides
  // atomically, so two ranks-0 on one resultdir cannot take the same one.
  constexpr int kMaxSameSecond = 1000;
  for (int n = 1; n <= kMaxSameSecond; ++n) {
    path_ = n == 1 ? base : fs::path(fmt::format("{}-{}", base.string(), n));
    if (::mkdir(path_.c_str(), 0755) == 0) return;
    if (errno != EEXIST) break;
  }
  throw std::runtime_error(
      fmt::format("cannot create the result directory {}: {}", path_.string(), std::strerror(errno)));
}

void ResultDir::write(const std::string& relative, const std::string& content) const {
  const fs::path file = path_ / relative;
  fs::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary);
  out << content;
  if (!out.flush()) throw std::runtime_error(fmt::format("cannot write {}", file.string()));
}

fs::path ResultDir::pack() const {
  const fs::path tgz = path_.string() + ".tgz";
  ChildOptions options;
  options.timeout = std::chrono::minutes(10);
  auto tar = AsyncChild::spawn(
      {"/bin/tar", "-czf", tgz.string(), "-C", path_.parent_path().string(), path_.filename().string()}, options);
  const auto& outcome = tar.wait();
  if (!outcome.exited_with(0)) {
    fs::remove(tgz);
    throw std::runtime_error(fmt::format("tar -czf {}: {}", tgz.string(), outcome.describe()));
  }
  return tgz;
}

}  // namespace dmmap::certify
