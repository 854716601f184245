#include "html_report.hpp"

#include <fmt/format.h>

#include <map>
#include <set>

#include "svg_chart.hpp"

namespace dmmap::bench {
namespace {

// The iteration rows that carry a distribution (first repetition of each name).
std::vector<const Json*> measured_rows(const Json& doc) {
  std::vector<const Json*> rows;
  std::set<std::string> seen;
  for (const auto& row : doc.at("benchmarks").as_array())
    if (row.contains("distribution") && seen.insert(row.at("name").as_string()).second) rows.push_back(&row);
  return rows;
}

// "a/b/ranks:2" without the "/P:value" component for parameter P; value out.
bool strip_parameter(const std::string& name, const std::string& parameter, std::string& rest, double& value) {
  const auto at = name.find("/" + parameter + ":");
  if (at == std::string::npos) return false;
  const auto begin = at + parameter.size() + 2;
  const auto end = name.find('/', begin);
  value = std::stod(name.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
  rest = name.substr(0, at) + (end == std::string::npos ? "" : name.substr(end));
  return true;
}

// Google Benchmark appends "/manual_time"; it says nothing to a reader.
std::string display_name(std::string name) {
  const std::string suffix = "/manual_time";
  if (name.ends_with(suffix)) name.resize(name.size() - suffix.size());
  return name;
}

double number(const Json& row, const char* key) {
  const auto* v = row.find(key);
  return v && v->is_number() ? v->as_number() : 0;
}

std::string cdf_charts(const std::vector<const Json*>& rows) {
  std::map<std::string, std::vector<Series>> families;  // by name without ranks
  for (const auto* row : rows) {
    std::string family;
    double ranks = 0;
    const auto name = display_name(row->at("name").as_string());
    if (!strip_parameter(name, "ranks", family, ranks)) family = name;
    Series s{fmt::format("{:g} rank{}", ranks, ranks == 1 ? "" : "s"), {}};
    for (const auto& p : row->at("distribution").at("cdf").as_array())
      s.points.emplace_back(p.as_array()[0].as_number(), p.as_array()[1].as_number());
    families[family].push_back(std::move(s));
  }
  std::string out = "<h2>Latency distributions (CDF)</h2>\n<div class=\"charts\">\n";
  for (const auto& [family, series] : families)
    out += svg_line_chart(
        {family, "latency per operation (ns, log scale)", "fraction of operations", true, false, true}, series);
  return out + "</div>\n";
}

std::string scaling_charts(const std::vector<const Json*>& rows) {
  // For each parameter, the rows that differ only in it form a curve.
  std::string out = "<h2>Scaling</h2>\n<div class=\"charts\">\n";
  for (const std::string parameter : {"ranks", "dirty", "bytes", "pages"}) {
    std::map<std::string, std::map<double, const Json*>> curves;
    for (const auto* row : rows) {
      std::string rest;
      double value = 0;
      if (strip_parameter(display_name(row->at("name").as_string()), parameter, rest, value)) curves[rest][value] = row;
    }
    for (const auto& [rest, points] : curves) {
      if (points.size() < 2) continue;
      const bool rate = points.begin()->second->contains("bytes_per_second");
      std::vector<Series> series;
      if (rate) {
        series.push_back({"aggregate", {}});
        series.push_back({"per rank", {}});
        for (auto [x, row] : points) {
          series[0].points.emplace_back(x, number(*row, "bytes_per_second") / 1e6);
          series[1].points.emplace_back(x, number(*row, "bytes_per_second_per_rank") / 1e6);
        }
      } else {
        series.push_back({"p50", {}});
        series.push_back({"p99", {}});
        series.push_back({"max", {}});
        for (auto [x, row] : points) {
          series[0].points.emplace_back(x, number(*row, "p50_ns"));
          series[1].points.emplace_back(x, number(*row, "p99_ns"));
          series[2].points.emplace_back(x, number(*row, "max_ns"));
        }
      }
      out += svg_line_chart({rest + " over " + parameter, parameter, rate ? "MB/s" : "latency (ns, log scale)",
                             parameter != "ranks", !rate, false},
                            series);
    }
  }
  return out + "</div>\n";
}

std::string results_table(const std::vector<const Json*>& rows) {
  std::string out =
      "<h2>Results</h2>\n<table>\n<tr><th>measurement</th><th>iterations</th><th>p50 ns</th><th>p90 ns</th>"
      "<th>p99 ns</th><th>p99.9 ns</th><th>max ns</th><th>mean ns</th><th>faults/op</th><th>ns/fault</th>"
      "<th>MB/s (aggregate)</th></tr>\n";
  for (const auto* row : rows) {
    const auto& d = row->at("distribution");
    out += fmt::format(
        "<tr><td>{}</td><td>{:g}</td><td>{:.0f}</td><td>{:.0f}</td><td>{:.0f}</td><td>{:.0f}</td><td>{:.0f}</td>"
        "<td>{:.0f}</td><td>{:.3f}</td><td>{:.0f}</td><td>{}</td></tr>\n",
        html_escape(display_name(row->at("name").as_string())), number(*row, "iterations"), d.at("p50").as_number(),
        d.at("p90").as_number(), d.at("p99").as_number(), d.at("p99.9").as_number(), d.at("max").as_number(),
        d.at("mean").as_number(), number(*row, "faults_per_op"), number(*row, "ns_per_fault"),
        row->contains("bytes_per_second") ? fmt::format("{:.1f}", number(*row, "bytes_per_second") / 1e6) : "");
  }
  return out + "</table>\n";
}

}  // namespace

std::string html_style() {
  return "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;font-size:12px}"
         "td,th{border:1px solid #bbb;padding:2px 6px;text-align:right}td:first-child{text-align:left}"
         ".charts{display:flex;flex-wrap:wrap;gap:8px}pre{background:#f4f4f4;padding:8px;font-size:11px}";
}

std::string html_sections(const Json& doc) {
  const auto rows = measured_rows(doc);
  std::string out = results_table(rows);
  if (const auto* checks = doc.find("dmmap_checks")) {
    out += "<h2>Per-operation vs block timing</h2>\n<table><tr><th>measurement</th><th>per-op mean ns</th>"
           "<th>block ns/op</th><th>difference</th></tr>\n";
    for (const auto& r : checks->at("per_op_vs_block").as_array())
      out += fmt::format("<tr><td>{}</td><td>{:.1f}</td><td>{:.1f}</td><td>{:+.1f}%</td></tr>\n",
                         html_escape(r.at("measurement").as_string()), r.at("per_op_mean_ns").as_number(),
                         r.at("block_ns_per_op").as_number(), r.at("difference_pct").as_number());
    out += "</table>\n";
  }
  return out + cdf_charts(rows) + scaling_charts(rows);
}

std::string revocation_growth_chart(const Json& doc) {
  std::map<double, const Json*> points;
  for (const auto* row : measured_rows(doc)) {
    std::string rest;
    double dirty = 0;
    const auto name = display_name(row->at("name").as_string());
    if (name.rfind("revocation/", 0) == 0 && strip_parameter(name, "dirty", rest, dirty)) points[dirty] = row;
  }
  if (points.size() < 2) return "";
  std::vector<Series> series{{"p50", {}}, {"p99", {}}, {"max", {}}};
  for (auto [dirty, row] : points) {
    const auto& d = row->at("distribution");
    series[0].points.emplace_back(dirty, d.at("p50").as_number());
    series[1].points.emplace_back(dirty, d.at("p99").as_number());
    series[2].points.emplace_back(dirty, d.at("max").as_number());
  }
  return svg_line_chart({"revocation: lock recall over dirty pages", "pages held dirty (log scale)",
                         "latency (ns, log scale)", true, true, false},
                        series);
}

std::string html_report(const Json& doc) {
  std::string out = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>dmmap-bench report</title>\n<style>" +
                    html_style() +
                    "</style></head><body>\n<h1>dmmap-bench report</h1>\n"
                    "<p>Latencies are per operation (one load, one store, one launch; one transfer for throughput), "
                    "merged over every rank and iteration. See docs/bench.md for what each measurement means.</p>\n";
  out += html_sections(doc);
  out += "<h2>Environment</h2>\n<pre>" + html_escape(doc.at("context").dump(2)) + "</pre>\n</body></html>\n";
  return out;
}

}  // namespace dmmap::bench
