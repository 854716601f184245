#include "run_log.hpp"

#include <fmt/format.h>

namespace dmmap::bench {

void RunLog::progress(const std::string& name, std::int64_t iterations) {
  if (name != current_) {
    current_ = name;
    ++started_;
  }
  if (!prints_progress_) return;
  if (listener_)
    listener_(name, started_, total_, iterations);
  else
    fmt::print(stderr, "[dmmap-bench {}/{}] {} ({} iteration{})\n", started_, total_, name, iterations,
               iterations == 1 ? "" : "s");
}

const Histogram* RunLog::find(unsigned id) const {
  auto it = histograms_.find(id);
  return it == histograms_.end() ? nullptr : &it->second;
}

}  // namespace dmmap::bench
