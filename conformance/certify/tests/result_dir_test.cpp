// The result directory: never reused, also for runs started in the same second.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "result_dir.hpp"

namespace fs = std::filesystem;
using dmmap::certify::ResultDir;

namespace {

class ResultDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dmmap-resultdir-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
  const std::chrono::system_clock::time_point started_ = std::chrono::system_clock::from_time_t(
      1796183732);  // 2026-12-02T03:55:32Z
};

TEST_F(ResultDirTest, NamedAfterHostAndStartInUtc) {
  const ResultDir dir(root_, "node0", started_);
  EXPECT_EQ(dir.path(), root_ / "dmmap-node0-20261202T035532Z");
  EXPECT_EQ(dir.created(), "2026-12-02T03:55:32Z");
  EXPECT_TRUE(fs::is_directory(dir.path()));
}

TEST_F(ResultDirTest, SameSecondRunsGetTheirOwnDirectory) {
  const ResultDir first(root_, "node0", started_);
  const ResultDir second(root_, "node0", started_);
  const ResultDir third(root_, "node0", started_);
  EXPECT_EQ(second.path(), root_ / "dmmap-node0-20261202T035532Z-2");
  EXPECT_EQ(third.path(), root_ / "dmmap-node0-20261202T035532Z-3");
}

TEST_F(ResultDirTest, ResultdirThatIsAFileIsAClearError) {
  { std::ofstream(root_ / "plain") << "not a directory\n"; }
  try {
    const ResultDir dir(root_ / "plain", "node0", started_);
    FAIL() << "created " << dir.path();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("Not a directory"), std::string::npos) << e.what();
  }
}

}  // namespace
