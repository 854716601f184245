#include "report_html.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "clients.hpp"
#include "html_report.hpp"
#include "svg_chart.hpp"

namespace dmmap::certify {
namespace {

using bench::html_escape;

std::string text_of(const Json* value) {
  if (!value || value->is_null()) return "";
  if (value->is_string()) return value->as_string();
  return value->dump();
}

std::string verdict_table(const Json& conformance) {
  std::string out = "<h2>Conformance</h2>\n<table class=\"verdicts\">\n<tr><th>check</th><th>verdict</th><th>level</th>"
                    "<th>expected</th><th>ranks</th><th>duration s</th><th>reason</th></tr>\n";
  for (const auto& c : conformance.at("checks").as_array()) {
    std::string ranks;
    for (const auto& r : c.at("ranks").as_array()) ranks += (ranks.empty() ? "" : ",") + r.dump();
    const std::string verdict = c.at("verdict").as_string();
    out += fmt::format(
        "<tr><td>{}</td><td class=\"v-{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2f}</td><td>{}</td></tr>\n",
        html_escape(c.at("id").as_string()), html_escape(verdict), html_escape(verdict),
        html_escape(text_of(c.find("level"))), html_escape(text_of(c.find("expected"))), html_escape(ranks),
        c.at("duration_s").as_number(), html_escape(c.at("message").as_string()));
  }
  return out + "</table>\n";
}

std::string benchmarks(const Json& bench, const Json& facts) {
  std::string out = "<h2>Benchmarks</h2>\n";
  if (bench.is_null())
    return out + fmt::format("<p>No benchmark results: {}</p>\n", html_escape(text_of(facts.find("bench_status"))));
  out += bench::html_sections(bench);
  const std::string growth = bench::revocation_growth_chart(bench);
  out += "<h2>Revocation growth</h2>\n";
  out += growth.empty() ? "<p>Fewer than two dirty-page counts were measured (revocation needs two ranks and "
                          "[bench] dirty with two values or more).</p>\n"
                        : "<div class=\"charts\">\n" + growth + "</div>\n";
  return out;
}

std::string rank_table(const Json& environment, const Json& clients) {
  std::string out =
      "<h3>Ranks</h3>\n<table>\n<tr><th>rank</th><th>hostname</th><th>client</th><th>kernel</th><th>binding</th>"
      "<th>view</th></tr>\n";
  const auto& ids = clients.at("ranks").as_array();
  for (const auto& r : environment.at("ranks").as_array()) {
    const auto rank = static_cast<std::size_t>(r.at("rank").as_number());
    out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", rank,
                       html_escape(r.at("hostname").as_string()), html_escape(ids.at(rank).at("client").as_string()),
                       html_escape(r.at("kernel").as_string()), html_escape(r.at("binding").as_string()),
                       html_escape(r.at("filesystem").at("view").as_string()));
  }
  return out + "</table>\n";
}

// One row per distinct view (host and path): what its mount says.
std::string view_table(const Json& environment) {
  std::string out =
      "<h3>Views</h3>\n<table>\n<tr><th>host</th><th>view</th><th>type</th><th>version</th><th>cache modes</th>"
      "<th>mount line</th></tr>\n";
  std::vector<std::string> seen;
  for (const auto& r : environment.at("ranks").as_array()) {
    const auto& fs = r.at("filesystem");
    const std::string key = r.at("hostname").as_string() + ":" + fs.at("view").as_string();
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
    seen.push_back(key);
    std::string modes;
    if (const auto* m = fs.find("cache_modes"))
      for (const auto& mode : m->as_array()) modes += (modes.empty() ? "" : ", ") + mode.as_string();
    out += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{} ({})</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>\n",
        html_escape(r.at("hostname").as_string()), html_escape(fs.at("view").as_string()),
        html_escape(fs.at("fs_type").as_string()), html_escape(fs.at("type").as_string()),
        html_escape(text_of(fs.find("version"))), html_escape(modes), html_escape(fs.at("mountinfo").as_string()));
  }
  return out + "</table>\n";
}

std::string environment_section(const Json& facts, const Json& conformance) {
  const Json& environment = conformance.at("environment");
  const Json& clients = facts.at("clients");
  std::string out = "<h2>Environment</h2>\n";
  out += fmt::format("<p>{} ranks, {} client{} ({}); MPI: {}</p>\n", environment.at("ranks_total").as_number(),
                     clients.at("count").as_number(), clients.at("count").as_number() == 1 ? "" : "s",
                     html_escape(clients.at("basis").as_string()),
                     html_escape(environment.at("mpi_library").as_string()));
  return out + rank_table(environment, clients) + view_table(environment);
}

}  // namespace

std::string control_run_notice(const Json& facts) {
  if (!facts.at("control_run").as_bool()) return "";
  const Json& clients = facts.at("clients");
  return control_run_notice(static_cast<int>(clients.at("count").as_number()), clients.at("basis").as_string());
}

std::string report_html(const Json& facts, const Json& conformance, const Json& bench) {
  const std::string notice = control_run_notice(facts);
  std::string out = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>dmmap certification " +
                    html_escape(facts.at("host").as_string()) + " " + html_escape(facts.at("created").as_string()) +
                    "</title>\n<style>" + bench::html_style() +
                    ".control{background:#fde2b8;border:2px solid #c60;padding:6px;font-weight:bold}"
                    ".v-PASS{background:#cfc}.v-FAIL,.v-HANG,.v-XPASS{background:#f99}.v-SKIP,.v-XFAIL{background:#eee}"
                    ".v-INFO{background:#def}</style></head><body>\n";
  if (!notice.empty()) out += "<p class=\"control\" id=\"control-run\">" + html_escape(notice) + "</p>\n";
  out += fmt::format("<h1>dmmap certification: {}</h1>\n", html_escape(facts.at("verdict").as_string()));
  out += fmt::format(
      "<p>dmmap {} on {}, started {}; expected level <b>{}</b>; profile: {}; {} ranks. Result directory manifest: "
      "result.json (<code>dmmap-certify --verify DIR</code>).</p>\n",
      html_escape(facts.at("version").as_string()), html_escape(facts.at("host").as_string()),
      html_escape(facts.at("created").as_string()), html_escape(conformance.at("expected").as_string()),
      html_escape(text_of(facts.at("profile").find("description"))), conformance.at("ranks").as_number());
  out += verdict_table(conformance);
  out += benchmarks(bench, facts);
  out += environment_section(facts, conformance);
  return out + "</body></html>\n";
}

}  // namespace dmmap::certify
