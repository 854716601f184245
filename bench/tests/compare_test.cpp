#include "compare.hpp"

#include <gtest/gtest.h>

#include <random>

namespace dmmap::bench {
namespace {

Samples noisy(std::map<std::string, double> medians, unsigned seed, int reps = 9, double noise = 0.02) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> jitter(-noise, noise);
  Samples s;
  for (auto& [name, m] : medians)
    for (int i = 0; i < reps; ++i) s[name].push_back(m * (1 + jitter(rng)));
  return s;
}

const Comparison& row(const CompareReport& r, const std::string& name) {
  for (auto& c : r.rows)
    if (c.name == name) return c;
  throw std::runtime_error("no row " + name);
}

TEST(Compare, KnownRegressionFailsTheGate) {
  auto report = compare(noisy({{"a", 100}, {"b", 10}}, 1), noisy({{"a", 120}, {"b", 10}}, 2), {});
  EXPECT_TRUE(report.any_regression());
  EXPECT_EQ(row(report, "a").verdict, Comparison::Verdict::regression);
  EXPECT_NEAR(row(report, "a").change, 0.20, 0.03);
  ASSERT_TRUE(row(report, "a").p_value);
  EXPECT_LT(*row(report, "a").p_value, 0.001);
  EXPECT_EQ(row(report, "b").verdict, Comparison::Verdict::same);
  EXPECT_GT(report.geomean_ratio, 1.05);  // sqrt(1.2 * 1.0) ~ 1.095
}

TEST(Compare, KnownImprovementPasses) {
  auto report = compare(noisy({{"a", 100}}, 1), noisy({{"a", 80}}, 2), {});
  EXPECT_FALSE(report.any_regression());
  EXPECT_EQ(row(report, "a").verdict, Comparison::Verdict::improvement);
  EXPECT_LT(report.geomean_ratio, 0.85);
}

TEST(Compare, NoiseWithoutChangeIsSame) {
  for (unsigned seed = 0; seed < 20; ++seed) {
    auto report = compare(noisy({{"a", 100}}, seed), noisy({{"a", 100}}, seed + 100), {});
    EXPECT_EQ(row(report, "a").verdict, Comparison::Verdict::same) << seed;
  }
}

TEST(Compare, SignificantButBelowThresholdIsSame) {
  // 3% slower with 0.5% noise: the test sees it, the 5% gate lets it through.
  auto report = compare(noisy({{"a", 100}}, 1, 9, 0.005), noisy({{"a", 103}}, 2, 9, 0.005), {});
  EXPECT_LT(*row(report, "a").p_value, 0.01);
  EXPECT_EQ(row(report, "a").verdict, Comparison::Verdict::same);
  CompareOptions strict;
  strict.threshold = 0.01;
  EXPECT_EQ(row(compare(noisy({{"a", 100}}, 1, 9, 0.005), noisy({{"a", 103}}, 2, 9, 0.005), strict), "a").verdict,
            Comparison::Verdict::regression);
}

TEST(Compare, LargeButInsignificantChangeIsSame) {
  // Four repetitions each, wildly overlapping: 10% apart in medians, not significant.
  Samples old_runs{{"a", {100, 60, 140, 90}}}, new_runs{{"a", {110, 65, 150, 99}}};
  auto report = compare(old_runs, new_runs, {});
  ASSERT_TRUE(row(report, "a").p_value);
  EXPECT_GT(*row(report, "a").p_value, 0.05);
  EXPECT_EQ(row(report, "a").verdict, Comparison::Verdict::same);
}

TEST(Compare, SingleRepetitionFallsBackToThresholdAndSaysSo) {
  auto report = compare(Samples{{"a", {100}}}, Samples{{"a", {130}}}, {});
  EXPECT_FALSE(row(report, "a").p_value);
  EXPECT_EQ(row(report, "a").verdict, Comparison::Verdict::regression);
  EXPECT_NE(format_report(report, {}).find("untested"), std::string::npos);
}

TEST(Compare, RatesAreBetterWhenHigher) {
  CompareOptions rate;
  rate.metric = "bytes_per_second";
  auto report = compare(noisy({{"a", 1000}}, 1), noisy({{"a", 700}}, 2), rate);
  EXPECT_EQ(row(report, "a").verdict, Comparison::Verdict::regression);
  EXPECT_NEAR(row(report, "a").worse_by, 1000.0 / 700 - 1, 0.05);
}

TEST(Compare, BenchmarksInOneFileOnlyAreListed) {
  auto report = compare(noisy({{"a", 1}, {"gone", 1}}, 1), noisy({{"a", 1}, {"new", 1}}, 2), {});
  EXPECT_EQ(report.only_old, std::vector<std::string>{"gone"});
  EXPECT_EQ(report.only_new, std::vector<std::string>{"new"});
}

TEST(Compare, LoadsIterationRowsAndConvertsUnits) {
  auto doc = Json::parse(R"({"context":{},"benchmarks":[
    {"name":"x","run_name":"x","run_type":"iteration","real_time":2,"cpu_time":1,"time_unit":"us","p99_ns":7},
    {"name":"x","run_name":"x","run_type":"iteration","real_time":3,"cpu_time":1,"time_unit":"ms"},
    {"name":"x_mean","run_name":"x","run_type":"aggregate","real_time":99,"cpu_time":1,"time_unit":"ns"},
    {"name":"y","run_name":"y","run_type":"iteration","error_occurred":true,"real_time":0,"cpu_time":0,"time_unit":"ns"}]})");
  auto s = load_samples(doc, "real_time");
  EXPECT_EQ(s.at("x"), (std::vector<double>{2000, 3e6}));
  EXPECT_FALSE(s.contains("y"));
  EXPECT_EQ(load_samples(doc, "p99_ns").at("x"), std::vector<double>{7});
  EXPECT_THROW(load_samples(Json::parse("{\"x\":1}"), "real_time"), std::runtime_error);
}

TEST(Compare, ThresholdParsing) {
  EXPECT_DOUBLE_EQ(parse_threshold("5%"), 0.05);
  EXPECT_DOUBLE_EQ(parse_threshold("12.5"), 0.125);
  EXPECT_THROW(parse_threshold("five"), std::invalid_argument);
  EXPECT_THROW(parse_threshold("-3%"), std::invalid_argument);
  EXPECT_THROW(parse_threshold("5%%"), std::invalid_argument);
}

}  // namespace
}  // namespace dmmap::bench
