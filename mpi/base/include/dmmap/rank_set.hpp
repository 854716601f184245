// Formatting of rank lists for people: "{1,3}", "{0-3}".
#pragma once

#include <string>
#include <vector>

namespace dmmap {

std::string format_ranks(std::vector<int> ranks);

}  // namespace dmmap
