// result.json: a sealed directory verifies; any change to any file, an added
// or a removed file, or an edit of result.json itself does not.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "digest.hpp"
#include "manifest.hpp"

namespace fs = std::filesystem;
using namespace dmmap;
using namespace dmmap::certify;

namespace {

class Sealed : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dmmap-manifest-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    put("a.txt", "alpha\n");
    put("logs/rank-0.log", "");
    put("logs/rank-1.log", "one\n");
    Json facts = Json::object();
    facts["suite"] = "dmmap-certify";
    facts["verdict"] = "PASS";
    write_manifest(dir_, facts);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void put(const std::string& path, const std::string& text) {
    fs::create_directories((dir_ / path).parent_path());
    std::ofstream(dir_ / path, std::ios::binary) << text;
  }
  std::string get(const std::string& path) {
    std::ifstream in(dir_ / path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  fs::path dir_;
};

TEST(Digest, MatchesSha256sum) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(Sealed, VerifiesIntact) { EXPECT_TRUE(verify_manifest(dir_).empty()); }

TEST_F(Sealed, ChangedFileFails) {
  put("a.txt", "alphb\n");  // same size
  ASSERT_EQ(verify_manifest(dir_).size(), 1u);
  EXPECT_EQ(verify_manifest(dir_)[0], "a.txt: content changed (SHA-256 differs)");
}

TEST_F(Sealed, EmptyFileGainingBytesFails) {
  put("logs/rank-0.log", "x");
  EXPECT_FALSE(verify_manifest(dir_).empty());
}

TEST_F(Sealed, RemovedAndAddedFilesFail) {
  fs::remove(dir_ / "logs/rank-1.log");
  put("extra.txt", "");
  const auto problems = verify_manifest(dir_);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0], "logs/rank-1.log: missing (or not a regular file)");
  EXPECT_EQ(problems[1], "extra.txt: not in the manifest");
}

TEST_F(Sealed, EditedManifestFails) {
  const std::string original = get("result.json");
  std::string text = original;
  text.replace(text.find("\"PASS\""), 6, "\"FAIL\"");
  put("result.json", text);
  EXPECT_EQ(verify_manifest(dir_),
            std::vector<std::string>{"result.json: its fields changed (manifest_sha256 differs)"});
  put("result.json", original + " ");
  EXPECT_EQ(verify_manifest(dir_).at(0), "result.json: edited (not in the form dmmap-certify writes it)");
}

TEST_F(Sealed, NoManifestIsNotABundle) {
  fs::remove(dir_ / "result.json");
  EXPECT_THROW(verify_manifest(dir_), std::runtime_error);
}

}  // namespace
