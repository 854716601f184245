// dmmap-bench's command line (Google Benchmark's --benchmark_* flags pass through).
#pragma once

#include <string>

#include "dmmap/options.hpp"
#include "settings.hpp"

namespace dmmap::bench {

struct CommandLine {
  Settings settings;
  bool help = false;
};

OptionParser make_parser(CommandLine& line);
// Checks what one option cannot check alone; throws UsageError.
void validate(const CommandLine& line);

// "4K", "64k", "1M", "2G", "4096" -> bytes; throws UsageError.
std::size_t parse_size(const std::string& text);

}  // namespace dmmap::bench
