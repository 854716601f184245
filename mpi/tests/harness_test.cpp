#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "dmmap/environment.hpp"
#include "dmmap/json.hpp"
#include "dmmap/options.hpp"
#include "dmmap/rank_set.hpp"
#include "dmmap/target.hpp"

using namespace dmmap;
namespace fs = std::filesystem;

TEST(Json, RoundTripsNestedValues) {
  Json doc;
  doc["name"] = "a \"quoted\"\nline\t\x01";
  doc["n"] = 42;
  doc["x"] = 0.25;
  doc["ok"] = true;
  doc["none"] = nullptr;
  doc["list"].push_back(1);
  doc["list"].push_back(Json::object());
  for (int indent : {-1, 2}) {
    Json back = Json::parse(doc.dump(indent));
    EXPECT_EQ(back.at("name").as_string(), doc.at("name").as_string());
    EXPECT_EQ(back.at("n").as_number(), 42);
    EXPECT_EQ(back.at("x").as_number(), 0.25);
    EXPECT_TRUE(back.at("ok").as_bool());
    EXPECT_TRUE(back.at("none").is_null());
    EXPECT_EQ(back.at("list").size(), 2u);
    EXPECT_EQ(back.dump(), doc.dump());
  }
}

TEST(Json, KeepsKeyOrder) {
  Json doc;
  doc["zeta"] = 1;
  doc["alpha"] = 2;
  EXPECT_EQ(doc.dump(), R"({"zeta":1,"alpha":2})");
}

TEST(Json, ParsesUnicodeEscapes) {
  EXPECT_EQ(Json::parse(R"("\u00e9\ud83d\ude00")").as_string(), "\xc3\xa9\xf0\x9f\x98\x80");
}

TEST(Json, RejectsMalformedInput) {
  for (const char* bad : {"", "{", "[1,", "{\"a\" 1}", "tru", "\"open", "1 2", "{\"a\":}"})
    EXPECT_THROW(Json::parse(bad), std::runtime_error) << bad;
}

TEST(Options, ParsesValuesFlagsAndPassThrough) {
  std::string dir;
  bool keep = false;
  OptionParser parser("prog", "[options]");
  parser.value("--dir", "PATH", "target", [&](const std::string& v) { dir = v; }).flag("--keep", "keep it", [&] {
    keep = true;
  });
  const char* args[] = {"prog", "--dir", "/x", "--gtest_filter=a.*", "--keep", nullptr};
  int argc = 5;
  char** argv = const_cast<char**>(args);
  parser.parse(argc, argv, {"--gtest_"});
  EXPECT_EQ(dir, "/x");
  EXPECT_TRUE(keep);
  ASSERT_EQ(argc, 2);
  EXPECT_STREQ(argv[1], "--gtest_filter=a.*");
}

TEST(Options, RejectsUnknownAndIncomplete) {
  OptionParser parser("prog", "");
  parser.value("--dir", "PATH", "target", [](const std::string&) {});
  const char* unknown[] = {"prog", "--bogus", nullptr};
  int argc = 2;
  EXPECT_THROW(parser.parse(argc, const_cast<char**>(unknown)), UsageError);
  const char* missing[] = {"prog", "--dir", nullptr};
  argc = 2;
  EXPECT_THROW(parser.parse(argc, const_cast<char**>(missing)), UsageError);
  EXPECT_NE(parser.help().find("--dir PATH"), std::string::npos);
}

TEST(Options, ParsesDurations) {
  EXPECT_EQ(parse_duration("30").count(), 30000);
  EXPECT_EQ(parse_duration("500ms").count(), 500);
  EXPECT_EQ(parse_duration("2m").count(), 120000);
  EXPECT_THROW(parse_duration("soon"), UsageError);
  EXPECT_THROW(parse_duration("-1"), UsageError);
}

TEST(RankSet, FormatsRanges) {
  EXPECT_EQ(format_ranks({3, 1}), "{1,3}");
  EXPECT_EQ(format_ranks({0, 1, 2, 3}), "{0-3}");
  EXPECT_EQ(format_ranks({0, 1, 5}), "{0,1,5}");
  EXPECT_EQ(format_ranks({}), "{}");
}

TEST(Target, DirsAreAssignedRoundRobin) {
  auto spec = TargetSpec::parse_dirs("/a,/b");
  EXPECT_EQ(spec.view_for(0), "/a");
  EXPECT_EQ(spec.view_for(1), "/b");
  EXPECT_EQ(spec.view_for(2), "/a");
}

TEST(Target, RefusesMissingAndNonDirectoryViews) {
  EXPECT_NE(check_view("/nonexistent/dmmap")->find("No such file"), std::string::npos);
  EXPECT_NE(check_view("/etc/hostname")->find("not a directory"), std::string::npos);
  EXPECT_FALSE(check_view(fs::temp_directory_path()).has_value());
}

TEST(Target, RefusesReadOnlyFilesystem) {
  fs::path dir = fs::temp_directory_path() / fmt::format("dmmap-ro-{}", ::getpid());
  fs::create_directories(dir);
  if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_RDONLY, "size=1m") != 0) {
    fs::remove(dir);
    GTEST_SKIP() << "cannot mount a read-only tmpfs here (needs root): " << strerror(errno);
  }
  auto complaint = check_view(dir);
  ::umount(dir.c_str());
  fs::remove(dir);
  ASSERT_TRUE(complaint.has_value());
  EXPECT_NE(complaint->find("read-only"), std::string::npos) << *complaint;
}

TEST(Environment, DescribesTheFilesystemOfAPath) {
  auto info = describe_filesystem("/proc");
  EXPECT_EQ(info.fs_type, "proc");
  EXPECT_EQ(info.mount_point, "/proc");
  EXPECT_FALSE(info.mountinfo.empty());
}
