// The semantic levels of docs/design.md, weakest first, so that std::min gives the
// level a set of observations jointly reached.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dmmap::conform {

enum class Level { none = 0, close_to_open = 1, msync = 2, strict = 3 };

std::string_view to_string(Level level);
std::optional<Level> parse_level(std::string_view text);

}  // namespace dmmap::conform
