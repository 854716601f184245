#include "svg_chart.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace dmmap::bench {
namespace {

constexpr double kWidth = 640, kHeight = 360;
constexpr double kLeft = 70, kRight = 180, kTop = 30, kBottom = 45;  // margins; legend on the right
constexpr const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

struct Axis {
  double lo = 0, hi = 1;
  bool log = false;
  double map(double v, double from, double to) const {
    const double a = log ? std::log10(std::max(v, 1e-300)) : v;
    const double l = log ? std::log10(lo) : lo, h = log ? std::log10(hi) : hi;
    return from + (a - l) / (h - l) * (to - from);
  }
  std::vector<double> ticks() const {
    std::vector<double> t;
    if (log) {
      for (double d = std::pow(10, std::floor(std::log10(lo))); d <= hi * 1.0001; d *= 10)
        if (d >= lo * 0.9999) t.push_back(d);
      if (t.size() < 2) t = {lo, hi};
      return t;
    }
    for (int i = 0; i <= 4; ++i) t.push_back(lo + (hi - lo) * i / 4);
    return t;
  }
};

Axis fit(const std::vector<Series>& series, bool use_x, bool log) {
  Axis a;
  a.log = log;
  double lo = std::numeric_limits<double>::max(), hi = std::numeric_limits<double>::lowest();
  for (const auto& s : series)
    for (auto [x, y] : s.points) {
      const double v = use_x ? x : y;
      if (log && v <= 0) continue;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  if (lo > hi) return a;  // no data
  if (!log) lo = std::min(lo, 0.0);
  if (hi <= lo) hi = log ? lo * 10 : lo + 1;
  if (log) {
    lo = std::pow(10, std::floor(std::log10(lo)));
    hi = std::pow(10, std::ceil(std::log10(hi)));
  }
  a.lo = lo;
  a.hi = hi;
  return a;
}

std::string tick_label(double v) {
  if (v != 0 && (std::abs(v) >= 1e5 || std::abs(v) < 1e-2)) return fmt::format("{:.0e}", v);
  return fmt::format("{:.4g}", v);
}

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string svg_line_chart(const ChartSpec& spec, const std::vector<Series>& series) {
  const Axis x = fit(series, true, spec.log_x), y = fit(series, false, spec.log_y);
  const double x0 = kLeft, x1 = kWidth - kRight, y0 = kHeight - kBottom, y1 = kTop;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n<text x=\"{}\" y=\"18\" font-size=\"13\" "
      "font-weight=\"bold\">{}</text>\n",
      kWidth, kHeight, kWidth, kHeight, kLeft, html_escape(spec.title));
  for (double t : x.ticks()) {
    const double px = x.map(t, x0, x1);
    svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#ddd\"/>"
                       "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
                       px, y0, y1, y0 + 14, tick_label(t));
  }
  for (double t : y.ticks()) {
    const double py = y.map(t, y0, y1);
    svg += fmt::format("<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#ddd\"/>"
                       "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5}</text>\n",
                       x0, py, x1, x0 - 4, py + 4, tick_label(t));
  }
  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>\n", x0, y1,
                     x1 - x0, y0 - y1);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", (x0 + x1) / 2, kHeight - 8,
                     html_escape(spec.x_label));
  svg += fmt::format("<text transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
                     (y0 + y1) / 2, html_escape(spec.y_label));
  for (std::size_t i = 0; i < series.size(); ++i) {
    const char* colour = kColours[i % std::size(kColours)];
    std::string path;
    double last_y = 0;
    bool first = true;
    for (auto [vx, vy] : series[i].points) {
      if ((spec.log_x && vx <= 0) || (spec.log_y && vy <= 0)) continue;
      const double px = x.map(vx, x0, x1), py = y.map(vy, y0, y1);
      if (!first && spec.steps) path += fmt::format(" L{:.1f},{:.1f}", px, last_y);
      path += fmt::format("{}{:.1f},{:.1f}", first ? "M" : " L", px, py);
      last_y = py;
      first = false;
    }
    svg += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.8\"/>\n", path, colour);
    if (!spec.steps)
      for (auto [vx, vy] : series[i].points)
        svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>", x.map(vx, x0, x1),
                           y.map(vy, y0, y1), colour);
    const double ly = y1 + 14.0 * static_cast<double>(i) + 6;
    svg += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"3\"/>"
                       "<text x=\"{}\" y=\"{}\">{}</text>\n",
                       x1 + 10, ly, x1 + 28, ly, colour, x1 + 32, ly + 4, html_escape(series[i].label));
  }
  return svg + "</svg>\n";
}

}  // namespace dmmap::bench
