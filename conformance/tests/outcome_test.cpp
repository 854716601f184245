#include <gtest/gtest.h>

#include "outcome.hpp"
#include "report.hpp"

using namespace dmmap::conform;

namespace {
RankOutcome at(Level l) {
  RankOutcome o;
  o.level = l;
  return o;
}
}  // namespace

TEST(Conclude, WeakestRankDecidesTheLevel) {
  auto r = conclude("x", true, Level::strict, {at(Level::strict), at(Level::msync), at(Level::strict)});
  EXPECT_EQ(r.verdict, Verdict::fail);
  EXPECT_EQ(*r.level, Level::msync);
  EXPECT_EQ(r.ranks, std::vector<int>{1});
  auto ok = conclude("x", true, Level::msync, {at(Level::strict), at(Level::msync)});
  EXPECT_EQ(ok.verdict, Verdict::pass);
}

TEST(Conclude, FailuresNameTheirRanks) {
  RankOutcome bad;
  bad.failures = {"boom"};
  auto r = conclude("x", false, Level::strict, {RankOutcome{}, bad, RankOutcome{}, bad});
  EXPECT_EQ(r.verdict, Verdict::fail);
  EXPECT_EQ(r.ranks, (std::vector<int>{1, 3}));
  EXPECT_NE(r.message.find("failed on ranks {1,3}"), std::string::npos) << r.message;
}

TEST(Conclude, LevelCheckWithoutAnyLevelFails) {
  EXPECT_EQ(conclude("x", true, Level::strict, {RankOutcome{}, RankOutcome{}}).verdict, Verdict::fail);
}

TEST(Conclude, SkipAndInfo) {
  RankOutcome skipped;
  skipped.skipped = "needs 3 ranks";
  EXPECT_EQ(conclude("x", false, Level::strict, {skipped, RankOutcome{}}).verdict, Verdict::skip);
  RankOutcome info;
  info.informational = {"sees new data"};
  auto r = conclude("x", false, Level::strict, {RankOutcome{}, info});
  EXPECT_EQ(r.verdict, Verdict::info);
  EXPECT_EQ(r.message, "sees new data");
}

TEST(Outcome, SurvivesTheTripThroughJson) {
  RankOutcome o = at(Level::close_to_open);
  o.failures = {"f"};
  o.notes = {"n"};
  o.skipped = "s";
  auto back = RankOutcome::from_json(o.to_json());
  EXPECT_EQ(back.level, o.level);
  EXPECT_EQ(back.failures, o.failures);
  EXPECT_EQ(back.notes, o.notes);
  EXPECT_EQ(back.skipped, o.skipped);
}

TEST(Report, JunitMarksFailuresAndSkips) {
  RunSummary run;
  run.verdict = "FAIL";
  CheckResult f;
  f.id = "shared.a";
  f.verdict = Verdict::fail;
  f.message = "a <bad> thing";
  CheckResult s;
  s.id = "shared.b";
  s.verdict = Verdict::skip;
  run.checks = {f, s};
  auto xml = junit_xml(run);
  EXPECT_NE(xml.find("failures=\"1\""), std::string::npos);
  EXPECT_NE(xml.find("<skipped"), std::string::npos);
  EXPECT_NE(xml.find("a &lt;bad&gt; thing"), std::string::npos);
  EXPECT_EQ(report_json(run).at("checks").size(), 2u);
}

TEST(Conclude, APassSaysHowByItsFirstNote) {
  RankOutcome quiet, noted;
  noted.notes = {"writer got ETXTBSY"};
  auto r = conclude("x", false, Level::strict, {quiet, noted});
  EXPECT_EQ(r.verdict, Verdict::pass);
  EXPECT_EQ(r.message, "rank 1: writer got ETXTBSY");
}

TEST(Conclude, OneRanksSkipNeverHidesAnothersFail) {
  RankOutcome skipped, failed;
  skipped.skipped = "flock unsupported here";
  failed.fail("stale page");
  auto r = conclude("x", false, Level::strict, {skipped, failed});
  EXPECT_EQ(r.verdict, Verdict::fail);
  EXPECT_EQ(r.ranks, std::vector<int>{1});
  EXPECT_NE(r.message.find("stale page"), std::string::npos) << r.message;
  bool skip_in_details = false;
  for (auto& d : r.details) skip_in_details |= d.find("flock unsupported here") != std::string::npos;
  EXPECT_TRUE(skip_in_details);
}

TEST(Conclude, TheReasonIsTheFirstFailureInTimeNotTheLowestRank) {
  RankOutcome late, early;
  late.failures = {"consequence"};
  late.failure_times = {2000.5};
  early.failures = {"cause"};
  early.failure_times = {2000.25};
  auto r = conclude("x", false, Level::strict, {late, early});
  EXPECT_EQ(r.verdict, Verdict::fail);
  EXPECT_NE(r.message.find("rank 1: cause"), std::string::npos) << r.message;
  auto back = RankOutcome::from_json(early.to_json());
  EXPECT_EQ(back.failure_times, early.failure_times);
}
