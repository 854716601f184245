// SHA-256, as sha256sum(1) prints it (lowercase hex), with OpenSSL's libcrypto.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace dmmap::certify {

std::string sha256_hex(std::string_view data);
// Throws std::runtime_error naming the file when it cannot be read.
std::string sha256_file(const std::filesystem::path& file);

}  // namespace dmmap::certify
