#include <gtest/gtest.h>

#include "bench_options.hpp"
#include "html_report.hpp"
#include "registry.hpp"
#include "report_json.hpp"
#include "svg_chart.hpp"

namespace dmmap::bench {
namespace {

Json crafted_doc() {
  Histogram h;
  for (std::uint64_t v = 100; v < 2000; v += 3) h.record(v);
  RunLog log(false);
  log.store(7, h);
  Json doc = Json::parse(R"({"context":{"dmmap_environment":"{\"kernel\":\"6.x\"}"},"benchmarks":[
    {"name":"read_fault/cached/fault_around:off/pages:8/ranks:1/manual_time","run_type":"iteration","iterations":5,
     "run_id":7,"ranks":1,"iteration_mean_ns":1000,"block_ns_per_op":960,"p50_ns":1,"p99_ns":2,"max_ns":3},
    {"name":"read_fault/cached/fault_around:off/pages:8/ranks:2/manual_time","run_type":"iteration","iterations":5,
     "run_id":7,"ranks":2,"iteration_mean_ns":1100,"p50_ns":2,"p99_ns":3,"max_ns":4},
    {"name":"throughput/read/file_per_rank/bytes:4096/ranks:1/manual_time","run_type":"iteration",
     "iterations":5,"run_id":7,"ranks":1,"bytes_per_second":1e9},
    {"name":"x_mean","run_type":"aggregate","run_id":7.5}]})");
  augment(doc, log);
  return doc;
}

TEST(Report, AugmentAttachesDistributionsAndDropsRunIds) {
  const Json doc = crafted_doc();
  const auto& rows = doc.at("benchmarks").as_array();
  ASSERT_TRUE(rows[0].contains("distribution"));
  EXPECT_FALSE(rows[0].contains("run_id"));
  EXPECT_FALSE(rows[3].contains("run_id"));
  EXPECT_FALSE(rows[3].contains("distribution"));  // aggregates carry none
  const auto& d = rows[0].at("distribution");
  EXPECT_EQ(d.at("count").as_number(), 634);
  EXPECT_NEAR(d.at("p50").as_number(), 1050, 1050.0 / 64);
  EXPECT_EQ(d.at("cdf").as_array().back().as_array()[1].as_number(), 1.0);
  EXPECT_TRUE(doc.at("context").at("dmmap_environment").is_object());
}

TEST(Report, PerOpVersusBlockPairsTheSameShape) {
  const auto checks = crafted_doc().at("dmmap_checks").at("per_op_vs_block").as_array();
  ASSERT_EQ(checks.size(), 1u);  // ranks:2 has no block figure
  EXPECT_NEAR(checks[0].at("difference_pct").as_number(), (1000.0 / 960 - 1) * 100, 1e-9);
  EXPECT_TRUE(checks[0].at("within_5pct").as_bool());
}

TEST(Report, HtmlHasChartsTableAndEnvironment) {
  const auto html = html_report(crafted_doc());
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("over ranks"), std::string::npos);  // a scaling curve from ranks:1 and ranks:2
  EXPECT_NE(html.find("read_fault/cached/fault_around:off/pages:8"), std::string::npos);
  EXPECT_NE(html.find("6.x"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
}

TEST(Report, SvgEscapesLabels) {
  const auto svg = svg_line_chart({"a<b", "x", "y", true, false, true}, {{"s&t", {{1, 0.5}, {10, 1}}}});
  EXPECT_NE(svg.find("a&lt;b"), std::string::npos);
  EXPECT_NE(svg.find("s&amp;t"), std::string::npos);
  EXPECT_EQ(svg.find("a<b"), std::string::npos);
}

TEST(Options, RankCountsDefaultToPowersOfTwoAndTheJobSize) {
  Settings s;
  EXPECT_EQ(rank_counts(s, 1), std::vector<int>{1});
  EXPECT_EQ(rank_counts(s, 3), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(rank_counts(s, 8), (std::vector<int>{1, 2, 4, 8}));
  s.rank_counts = {3, 1};
  EXPECT_EQ(rank_counts(s, 4), (std::vector<int>{1, 3}));
  s.rank_counts = {5};
  EXPECT_THROW(rank_counts(s, 4), UsageError);
}

TEST(Options, Sizes) {
  EXPECT_EQ(parse_size("4K"), 4096u);
  EXPECT_EQ(parse_size("2m"), 2u << 20);
  EXPECT_EQ(parse_size("8192"), 8192u);
  EXPECT_THROW(parse_size("12Q"), UsageError);
  EXPECT_THROW(parse_size("0"), UsageError);
  EXPECT_THROW(parse_size("K"), UsageError);
}

}  // namespace
}  // namespace dmmap::bench
