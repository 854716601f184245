#include "dmmap/rank_set.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace dmmap {

std::string format_ranks(std::vector<int> ranks) {
  std::sort(ranks.begin(), ranks.end());
  ranks.erase(std::unique(ranks.begin(), ranks.end()), ranks.end());
  std::string out = "{";
  for (std::size_t i = 0; i < ranks.size();) {
    std::size_t j = i;
    while (j + 1 < ranks.size() && ranks[j + 1] == ranks[j] + 1) ++j;
    if (i) out += ',';
    out += j >= i + 2 ? fmt::format("{}-{}", ranks[i], ranks[j])
                      : (j == i + 1 ? fmt::format("{},{}", ranks[i], ranks[j]) : fmt::format("{}", ranks[i]));
    i = j + 1;
  }
  return out + "}";
}

}  // namespace dmmap
