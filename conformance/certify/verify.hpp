// dmmap-certify --verify DIR: the result directory against its result.json.
#pragma once

#include <filesystem>

namespace dmmap::certify {

// Prints each difference; returns 0 (intact), 1 (a difference), 2 (no
// readable dmmap-certify result.json in DIR).
int verify_command(const std::filesystem::path& dir);

}  // namespace dmmap::certify
