// Unit tests of the pieces the catalog relies on: the runner's version
// report, known-failure rewriting and the Markdown summary.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "check.hpp"
#include "exec_util.hpp"
#include "known_failures.hpp"
#include "report.hpp"

using namespace dmmap::conform;

namespace {

const CheckRegistration listed({.id = "test.listed",
                                .summary = "a check for the known-failures list",
                                .run = [](CheckContext&) {}});

std::filesystem::path write_list(const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / ("known-" + std::to_string(::getpid()));
  std::ofstream(path) << text;
  return path;
}

CheckResult result(Verdict v) {
  CheckResult r;
  r.id = "test.listed";
  r.verdict = v;
  r.message = "why";
  return r;
}

}  // namespace

TEST(PageVersions, AMixIsDescribedByRuns) {
  auto pv = parse_versions("page 0 version 1\npage 1 version 2\npage 2 version 2\n");
  EXPECT_EQ(pv.describe(), "pages 0-0 version 1, pages 1-2 version 2");
  EXPECT_TRUE(pv.any(2));
  EXPECT_FALSE(pv.all(1));
  EXPECT_FALSE(pv.wrong);
}

TEST(PageVersions, WrongFunctionOrGapIsNoticed) {
  EXPECT_TRUE(parse_versions("page 0 version 1\npage 2 version 1\n").wrong);
  EXPECT_TRUE(parse_versions("page 0 version 1 (wrong function)\n").wrong);
  EXPECT_EQ(parse_versions("").describe(), "no page executed");
  EXPECT_FALSE(parse_versions("").all(1));
}

TEST(KnownFailures, FailBecomesXfailPassBecomesXpass) {
  auto path = write_list("# comment\ntest.listed  two page caches\n\n");
  auto known = KnownFailures::load(path);
  std::filesystem::remove(path);
  auto f = result(Verdict::fail);
  known.apply(f);
  EXPECT_EQ(f.verdict, Verdict::expected_fail);
  EXPECT_NE(f.message.find("two page caches"), std::string::npos);
  auto p = result(Verdict::pass);
  known.apply(p);
  EXPECT_EQ(p.verdict, Verdict::unexpected_pass);
  EXPECT_TRUE(counts_as_failure(p.verdict));
  EXPECT_FALSE(counts_as_failure(f.verdict));
  auto h = result(Verdict::hang);
  known.apply(h);
  EXPECT_EQ(h.verdict, Verdict::hang);
}

TEST(KnownFailures, UnknownIdIsRefused) {
  auto path = write_list("test.nonexistent reason\n");
  EXPECT_THROW(KnownFailures::load(path), std::runtime_error);
  std::filesystem::remove(path);
  EXPECT_THROW(KnownFailures::load("/nonexistent/list"), std::runtime_error);
}

TEST(Summary, MarkdownHasOneRowPerCheck) {
  RunSummary run;
  run.verdict = "FAIL";
  run.environment = dmmap::Json::object();
  auto r = result(Verdict::fail);
  r.message = "a|b";
  run.checks = {r};
  auto md = summary_markdown(run);
  EXPECT_NE(md.find("| `test.listed` | FAIL |"), std::string::npos) << md;
  EXPECT_EQ(md.find("a|b"), std::string::npos) << "a '|' in a message would break the table";
}
