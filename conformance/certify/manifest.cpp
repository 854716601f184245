#include "manifest.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "digest.hpp"

namespace fs = std::filesystem;

namespace dmmap::certify {
namespace {

constexpr const char* kManifest = "result.json";
constexpr int kIndent = 1;  // the form result.json is written in, and must still be in

// The document without `manifest_sha256`, as it is hashed.
std::string hashed_form(const Json& doc) {
  Json copy = Json::object();
  for (const auto& [key, value] : doc.as_object())
    if (key != "manifest_sha256") copy[key] = value;
  return copy.dump(kIndent);
}

// A listed path must stay inside the directory: relative, no '.' or '..' component.
bool safe_path(const std::string& path) {
  if (path.empty() || path.front() == '/' || path == kManifest) return false;
  std::istringstream parts(path);
  for (std::string part; std::getline(parts, part, '/');)
    if (part.empty() || part == "." || part == "..") return false;
  return true;
}

void check_listed(const fs::path& dir, const Json& entry, std::vector<std::string>& problems) {
  const std::string& path = entry.at("path").as_string();
  if (!safe_path(path)) {
    problems.push_back(fmt::format("{}: not a path inside the directory", path));
    return;
  }
  const fs::path file = dir / path;
  std::error_code ec;
  if (!fs::is_regular_file(fs::symlink_status(file, ec))) {
    problems.push_back(fmt::format("{}: missing (or not a regular file)", path));
    return;
  }
  const auto bytes = fs::file_size(file, ec);
  if (bytes != static_cast<std::uintmax_t>(entry.at("bytes").as_number()))
    problems.push_back(fmt::format("{}: {} bytes, the manifest says {}", path, bytes, entry.at("bytes").as_number()));
  else if (sha256_file(file) != entry.at("sha256").as_string())
    problems.push_back(fmt::format("{}: content changed (SHA-256 differs)", path));
}

// Every listed file against the disk, every file on disk listed, the list's digest.
void check_files(const fs::path& dir, const Json& doc, std::vector<std::string>& problems) {
  std::vector<ManifestFile> listed;
  std::map<std::string, bool> on_disk;
  for (const auto& f : list_files(dir)) on_disk[f.path] = false;
  for (const auto& entry : doc.at("files").as_array()) {
    check_listed(dir, entry, problems);
    on_disk[entry.at("path").as_string()] = true;
    listed.push_back({entry.at("path").as_string(), entry.at("sha256").as_string(), 0});
  }
  for (const auto& [path, is_listed] : on_disk)
    if (!is_listed) problems.push_back(fmt::format("{}: not in the manifest", path));
  if (files_digest(listed) != doc.at("sha256").as_string())
    problems.push_back("result.json: sha256 is not the digest of the listed files");
}

}  // namespace

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("cannot read {}", file.string()));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<ManifestFile> list_files(const fs::path& dir) {
  std::vector<ManifestFile> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    const auto status = entry.symlink_status();
    if (fs::is_directory(status)) continue;
    const std::string path = fs::relative(entry.path(), dir).generic_string();
    if (!fs::is_regular_file(status))
      throw std::runtime_error(fmt::format("{}: neither a regular file nor a directory", path));
    if (path == kManifest) continue;
    files.push_back({path, sha256_file(entry.path()), entry.file_size()});
  }
  std::sort(files.begin(), files.end(), [](auto& a, auto& b) { return a.path < b.path; });
  return files;
}

std::string files_digest(const std::vector<ManifestFile>& files) {
  std::string lines;
  for (const auto& f : files) lines += fmt::format("{}  {}\n", f.sha256, f.path);
  return sha256_hex(lines);
}

void write_manifest(const fs::path& dir, Json facts) {
  const auto files = list_files(dir);
  Json list = Json::array();
  for (const auto& f : files) {
    Json one = Json::object();
    one["path"] = f.path;
    one["sha256"] = f.sha256;
    one["bytes"] = f.bytes;
    list.push_back(std::move(one));
  }
  facts["files"] = std::move(list);
  facts["sha256"] = files_digest(files);
  facts["manifest_sha256"] = sha256_hex(hashed_form(facts));
  std::ofstream out(dir / kManifest, std::ios::binary);
  out << facts.dump(kIndent) << '\n';
  if (!out.flush()) throw std::runtime_error(fmt::format("cannot write {}", (dir / kManifest).string()));
}

std::vector<std::string> verify_manifest(const fs::path& dir) {
  const std::string text = read_text(dir / kManifest);
  Json doc;
  try {
    doc = Json::parse(text);
  } catch (const std::runtime_error& e) {
    return {fmt::format("result.json: edited, no longer JSON ({})", e.what())};
  }
  if (!doc.is_object() || !doc.contains("suite") || !doc.at("suite").is_string() ||
      doc.at("suite").as_string() != "dmmap-certify")
    throw std::runtime_error(fmt::format("{}: not a dmmap-certify manifest", (dir / kManifest).string()));
  std::vector<std::string> problems;
  if (text != doc.dump(kIndent) + "\n")
    problems.push_back("result.json: edited (not in the form dmmap-certify writes it)");
  else if (!doc.contains("manifest_sha256") || sha256_hex(hashed_form(doc)) != doc.at("manifest_sha256").as_string())
    problems.push_back("result.json: its fields changed (manifest_sha256 differs)");
  try {
    check_files(dir, doc, problems);
  } catch (const std::runtime_error& e) {
    problems.push_back(fmt::format("result.json: malformed ({})", e.what()));
  }
  return problems;
}

}  // namespace dmmap::certify
