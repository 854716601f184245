#include "rank_log.hpp"

#include <fmt/format.h>

namespace dmmap::certify {

void RankLog::add(const std::string& line) {
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  text_ += fmt::format("+{:.3f}s {}\n", t, line);
}

std::vector<std::string> RankLog::gather(Sync& sync) const {
  sync.begin_phase("rank logs");
  auto all = sync.finish_phase(text_);
  if (sync.rank() != 0) all.clear();
  return all;
}

}  // namespace dmmap::certify
