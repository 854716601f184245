#include "level.hpp"

namespace dmmap::conform {

std::string_view to_string(Level level) {
  switch (level) {
    case Level::none: return "none";
    case Level::close_to_open: return "close-to-open";
    case Level::msync: return "msync";
    case Level::strict: return "strict";
  }
  return "?";
}

std::optional<Level> parse_level(std::string_view text) {
  for (Level l : {Level::none, Level::close_to_open, Level::msync, Level::strict})
    if (to_string(l) == text) return l;
  return std::nullopt;
}

}  // namespace dmmap::conform
