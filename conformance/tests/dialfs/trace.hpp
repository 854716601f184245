// --trace: one line on stderr per data request, publication and
// notification, for finding out what a client's kernel sent and when.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <string>

namespace dialfs {

inline std::atomic<bool> tracing{false};

void trace_line(const std::string& line);

template <class... Args>
void trace(fmt::format_string<Args...> format, Args&&... args) {
  if (tracing) trace_line(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace dialfs
