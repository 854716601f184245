// The exec checks' judgement of a runner whose binary another client
// overwrote (exec_util.hpp), on outcomes made up to cover each way a runner
// can end: terminated alone (safe), terminated with the unchanged control
// (a client that kills every binary: not safe), running on with its pages
// evicted or not, and how the runner's eviction report is read.
#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>

#include "exec_util.hpp"

namespace dmmap::conform {
namespace {

// A runner's output: `first` pages of version 1, then version `then` up to `last`, and its eviction line.
std::string output(int first, int last, int then = 1, int resident = 0) {
  std::string out = "layout: 60 functions on 60 pages of 4096 bytes\npage 0 version 1\n";
  if (last > 0) out += "evict: " + std::to_string(resident) + " of 59 pages still resident\n";
  for (int i = 1; i <= last; ++i)
    out += "page " + std::to_string(i) + " version " + std::to_string(i < first ? 1 : then) + "\n";
  return out;
}

ChildOutcome exited(int code, std::string out) { return {ChildOutcome::Kind::exited, code, std::move(out)}; }
ChildOutcome killed(int sig, std::string out) { return {ChildOutcome::Kind::signaled, sig, std::move(out)}; }

const ChildOutcome kControlRanOn = exited(0, output(60, 59));

TEST(JudgeChanged, TerminatedWhileTheControlRanOnIsSafe) {
  const Judgement j = judge_changed(killed(SIGBUS, output(0, 0)), kControlRanOn, "");
  EXPECT_EQ(j.failure, "");
  EXPECT_EQ(j.skip, "");
  EXPECT_NE(j.note.find("while the unchanged control binary ran on"), std::string::npos) << j.note;
}

TEST(JudgeChanged, TerminatedTogetherWithTheControlIsNotSafe) {
  for (int sig : {SIGBUS, SIGKILL}) {
    const Judgement j = judge_changed(killed(sig, output(0, 0)), killed(sig, output(0, 0)), "");
    EXPECT_NE(j.failure.find("and so was what did not change"), std::string::npos) << j.failure;
  }
}

TEST(JudgeChanged, TerminatedWhileTheControlsPagesStayedResidentShowsNothing) {
  const Judgement j = judge_changed(killed(SIGBUS, output(0, 0)), exited(0, output(60, 59, 1, 59)), "");
  EXPECT_EQ(j.failure, "");
  EXPECT_NE(j.skip.find("stayed resident"), std::string::npos) << j.skip;
}

TEST(JudgeChanged, AMixFails) {
  const Judgement j = judge_changed(exited(0, output(30, 59, 2)), kControlRanOn, "");
  EXPECT_NE(j.failure.find("executed new code"), std::string::npos) << j.failure;
  EXPECT_NE(j.failure.find("pages 0-29 version 1, pages 30-59 version 2"), std::string::npos) << j.failure;
}

TEST(JudgeChanged, RunningOnFromTheCacheIsNotShown) {
  const Judgement kept = judge_changed(exited(0, output(60, 59, 1, 0)), kControlRanOn, "");
  EXPECT_NE(kept.note.find("kept serving the running version"), std::string::npos) << kept.note;
  const Judgement cached = judge_changed(exited(0, output(60, 59, 1, 12)), kControlRanOn, "");
  EXPECT_EQ(cached.failure, "");
  EXPECT_NE(cached.skip.find("12 of 59 pages still resident"), std::string::npos) << cached.skip;
}

TEST(JudgeChanged, RefusedWithETXTBSYPassesWhateverTheCache) {
  const Judgement j = judge_changed(exited(0, output(60, 59, 1, 59)), kControlRanOn, std::strerror(ETXTBSY));
  EXPECT_EQ(j.failure, "");
  EXPECT_EQ(j.skip, "");
  const Judgement other = judge_changed(exited(0, output(60, 59)), kControlRanOn, std::strerror(EACCES));
  EXPECT_NE(other.failure.find("not with ETXTBSY"), std::string::npos) << other.failure;
}

// After an eviction a refused writer changed nothing: the recovery was not
// exercised, so no PASS; the rest is judged as any changed binary.
TEST(JudgeChangedAfterEviction, RefusedWithETXTBSYShowsNothing) {
  const Judgement j = judge_changed_after_eviction(exited(0, output(60, 59)), kControlRanOn, std::strerror(ETXTBSY));
  EXPECT_EQ(j.failure, "");
  EXPECT_NE(j.skip.find("never changed"), std::string::npos) << j.skip;
  const Judgement killed_anyway = judge_changed_after_eviction(killed(SIGBUS, output(0, 0)), kControlRanOn,
                                                               std::strerror(ETXTBSY));
  EXPECT_NE(killed_anyway.failure.find("never changed, yet its runner killed by SIGBUS"), std::string::npos)
      << killed_anyway.failure;
}

TEST(JudgeChangedAfterEviction, AnOverwriteIsJudgedAsAChangedBinary) {
  const Judgement safe = judge_changed_after_eviction(killed(SIGBUS, output(0, 0)), kControlRanOn, "");
  EXPECT_NE(safe.note.find("while the unchanged control binary ran on"), std::string::npos) << safe.note;
  const Judgement mix = judge_changed_after_eviction(exited(0, output(1, 59, 2)), kControlRanOn, "");
  EXPECT_NE(mix.failure.find("executed new code"), std::string::npos) << mix.failure;
  const Judgement other = judge_changed_after_eviction(exited(0, output(60, 59)), kControlRanOn, std::strerror(EIO));
  EXPECT_NE(other.failure.find("not with ETXTBSY"), std::string::npos) << other.failure;
}

TEST(ParseVersions, ReadsTheEvictionReport) {
  const PageVersions pv = parse_versions(
      "page 0 version 1\nevict: posix_fadvise: Invalid argument\nevict: 59 of 59 pages still resident\n");
  ASSERT_TRUE(pv.still_resident.has_value());
  EXPECT_EQ(*pv.still_resident, 59);
  EXPECT_FALSE(pv.evicted());
  EXPECT_EQ(pv.describe_eviction(), "59 of 59 pages still resident after eviction; posix_fadvise: Invalid argument");
  EXPECT_FALSE(parse_versions("page 0 version 1\n").evicted()) << "no report is no eviction";
}

}  // namespace
}  // namespace dmmap::conform
