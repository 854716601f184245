// result.json, the manifest of a result directory (docs/schema/result.schema.json):
// every other file with its SHA-256 and size; `sha256` over the sha256sum(1)
// lines of the files (so `sha256sum -c` can check them without dmmap);
// `manifest_sha256` over result.json itself, so that its own fields (the
// verdict, the control-run flag) cannot change unnoticed either.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "dmmap/json.hpp"

namespace dmmap::certify {

struct ManifestFile {
  std::string path;  // relative, '/'-separated
  std::string sha256;
  std::uintmax_t bytes = 0;
};

// Every file under `dir` but result.json, sorted by path. Throws
// std::runtime_error for anything but a regular file or a directory.
// A whole file as bytes; throws naming the file when it cannot be read.
std::string read_text(const std::filesystem::path& file);

std::vector<ManifestFile> list_files(const std::filesystem::path& dir);

// SHA-256 of "<sha256>  <path>\n" for each file, in the order given.
std::string files_digest(const std::vector<ManifestFile>& files);

// Adds "files", "sha256" and "manifest_sha256" to `facts` (the run's fields)
// and writes DIR/result.json.
void write_manifest(const std::filesystem::path& dir, Json facts);

// Every difference between DIR and its result.json (a changed, missing or
// unlisted file, an edited manifest); empty when the directory is intact.
// Throws std::runtime_error when DIR has no readable result.json, or one
// that is not dmmap-certify's.
std::vector<std::string> verify_manifest(const std::filesystem::path& dir);

}  // namespace dmmap::certify
