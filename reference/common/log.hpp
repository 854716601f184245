// Minimal levelled logging to stderr for dmfsd and tools.
#pragma once
#include <fmt/format.h>

#include <string_view>

namespace dmfs::log {

enum class Level { error = 0, warn = 1, info = 2, debug = 3, trace = 4 };

void set_level(Level l);
Level level();
bool parse_level(std::string_view s, Level& out);
void write(Level l, std::string_view msg);

template <typename... A>
void at(Level l, fmt::format_string<A...> f, A&&... a) {
  if (static_cast<int>(l) <= static_cast<int>(level())) write(l, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A>
void error(fmt::format_string<A...> f, A&&... a) {
  at(Level::error, f, std::forward<A>(a)...);
}
template <typename... A>
void warn(fmt::format_string<A...> f, A&&... a) {
  at(Level::warn, f, std::forward<A>(a)...);
}
template <typename... A>
void info(fmt::format_string<A...> f, A&&... a) {
  at(Level::info, f, std::forward<A>(a)...);
}
template <typename... A>
void debug(fmt::format_string<A...> f, A&&... a) {
  at(Level::debug, f, std::forward<A>(a)...);
}
template <typename... A>
void trace(fmt::format_string<A...> f, A&&... a) {
  at(Level::trace, f, std::forward<A>(a)...);
}

}  // namespace dmfs::log
