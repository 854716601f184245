// A line chart as inline SVG: enough for latency CDFs and scaling curves,
// with no script and no other file, so a report opens anywhere.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace dmmap::bench {

struct Series {
  std::string label;
  std::vector<std::pair<double, double>> points;  // (x, y), drawn in order
};

struct ChartSpec {
  std::string title, x_label, y_label;
  bool log_x = false;  // latencies span decades
  bool log_y = false;
  bool steps = false;  // CDF: hold each value until the next point
};

std::string svg_line_chart(const ChartSpec& spec, const std::vector<Series>& series);
std::string html_escape(const std::string& text);

}  // namespace dmmap::bench
