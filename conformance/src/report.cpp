#include "report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <system_error>

#include "dmmap/rank_set.hpp"

namespace dmmap::conform {
namespace {

std::string level_text(const std::optional<Level>& l) { return l ? std::string(to_string(*l)) : "-"; }

std::string xml_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t')
          out += ' ';
        else
          out += c;
    }
  }
  return out;
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.close();
  if (!out) throw std::system_error(errno, std::generic_category(), "cannot write " + path.string());
}

}  // namespace

std::string console_table(const RunSummary& run) {
  std::size_t width = 5;
  for (auto& c : run.checks) width = std::max(width, c.id.size());
  std::string out = fmt::format("\n{:<{}}  {:<13}  {:<13}  {:<7}  {}\n", "CHECK", width, "LEVEL", "EXPECTED", "VERDICT",
                                "RANKS / REASON");
  for (auto& c : run.checks) {
    std::string why = c.ranks.empty() ? c.message : format_ranks(c.ranks) + (c.message.empty() ? "" : " " + c.message);
    out += fmt::format("{:<{}}  {:<13}  {:<13}  {:<7}  {}\n", c.id, width, level_text(c.level), level_text(c.expected),
                       to_string(c.verdict), why);
  }
  return out;
}

std::string verdict_line(const RunSummary& run) {
  int counts[7] = {};
  for (auto& c : run.checks) ++counts[static_cast<int>(c.verdict)];
  std::string tally;
  for (Verdict v : {Verdict::pass, Verdict::fail, Verdict::hang, Verdict::skip, Verdict::info, Verdict::expected_fail,
                    Verdict::unexpected_pass})
    if (counts[static_cast<int>(v)])
      tally += fmt::format("{}{} {}", tally.empty() ? "" : ", ", counts[static_cast<int>(v)], to_string(v));
  const int clients = run.clients.clients();
  return fmt::format("VERDICT: {} at expected level {}{} ({}; {} ranks, {} client{}, {:.1f} s)", run.verdict,
                     to_string(run.expected), run.clients.multi_client() ? "" : " in a CONTROL RUN",
                     tally.empty() ? "no checks" : tally, run.ranks, clients, clients == 1 ? "" : "s", run.duration_s);
}

std::string control_run_note(const RunSummary& run) {
  if (run.clients.multi_client()) return "";
  return fmt::format(
      "Control run: every rank is one client of the filesystem ({}), so no change travelled between two clients; "
      "this is what one machine gives, not a multi-client certificate.",
      run.clients.basis());
}

Json report_json(const RunSummary& run) {
  Json j = Json::object();
  j["suite"] = "dmmap-conform";
  j["version"] = DMMAP_VERSION;
  j["verdict"] = run.verdict;
  j["expected"] = std::string(to_string(run.expected));
  j["ranks"] = run.ranks;
  j["duration_s"] = run.duration_s;
  j["scratch"] = run.scratch;
  j["hook"] = run.hook.empty() ? Json() : Json(run.hook);
  j["multi_client"] = run.clients.multi_client();
  j["clients"] = run.clients.to_json();
  Json checks = Json::array();
  for (auto& c : run.checks) checks.push_back(c.to_json());
  j["checks"] = std::move(checks);
  j["profile"] = run.profile;
  j["environment"] = run.environment;
  return j;
}

std::string junit_xml(const RunSummary& run) {
  int failures = 0, skipped = 0;
  for (auto& c : run.checks) {
    failures += counts_as_failure(c.verdict);
    skipped += c.verdict == Verdict::skip;
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format(
      "<testsuites name=\"dmmap-conform\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{:.3f}\">\n",
      run.checks.size(), failures, skipped, run.duration_s);
  out += fmt::format(
      "  <testsuite name=\"dmmap-conform\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{:.3f}\">\n",
      run.checks.size(), failures, skipped, run.duration_s);
  for (auto& c : run.checks) {
    std::string family = c.id.substr(0, c.id.find('.'));
    out += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3f}\">\n", xml_escape(family),
                       xml_escape(c.id), c.duration_s);
    std::string body;
    for (auto& d : c.details) body += d + "\n";
    if (counts_as_failure(c.verdict)) {
      out += fmt::format("      <failure type=\"{}\" message=\"{}\">{}</failure>\n", to_string(c.verdict),
                         xml_escape(c.message), xml_escape(body));
    } else if (c.verdict == Verdict::skip) {
      out += fmt::format("      <skipped message=\"{}\"/>\n", xml_escape(c.message));
    } else if (!body.empty() || c.level) {
      out += fmt::format("      <system-out>{}{}</system-out>\n",
                         c.level ? "level: " + std::string(to_string(*c.level)) + "\n" : "", xml_escape(body));
    }
    out += "    </testcase>\n";
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

std::string summary_markdown(const RunSummary& run) {
  std::string out = fmt::format("# dmmap-conform {}: {}{}\n\n", DMMAP_VERSION, run.verdict,
                                run.clients.multi_client() ? "" : " (control run, one client)");
  out += fmt::format("{}\n\n", verdict_line(run));
  if (!run.profile_line.empty()) out += fmt::format("Target: {}.\n\n", run.profile_line);
  if (!run.clients.multi_client()) out += fmt::format("**{}**\n\n", control_run_note(run));
  out += fmt::format("Clients: {} ({}).\n\n", run.clients.clients(), run.clients.basis());
  if (auto* ranks = run.environment.find("ranks"); ranks && ranks->is_array()) {
    out += "| rank | client | host | directory | filesystem | options |\n|---|---|---|---|---|---|\n";
    for (auto& r : ranks->as_array()) {
      auto& fs = r.at("filesystem");
      const int rank = static_cast<int>(r.at("rank").as_number());
      out += fmt::format("| {} | {} | {} | `{}` | {} | `{}` |\n", rank,
                         rank < run.clients.ranks() ? std::to_string(run.clients.client_of(rank)) : "?",
                         r.at("hostname").as_string(), fs.at("view").as_string(), fs.at("type").as_string(),
                         fs.at("options").as_string());
    }
    out += "\n";
  }
  out += "| check | verdict | level | expected | ranks | duration | reason |\n|---|---|---|---|---|---|---|\n";
  for (auto& c : run.checks) {
    std::string why = c.message;
    std::replace(why.begin(), why.end(), '|', '/');
    out += fmt::format("| `{}` | {} | {} | {} | {} | {:.2f} s | {} |\n", c.id, to_string(c.verdict),
                       level_text(c.level), level_text(c.expected), c.ranks.empty() ? "" : format_ranks(c.ranks),
                       c.duration_s, why);
  }
  return out;
}

void write_report_files(const std::filesystem::path& dir, const RunSummary& run) {
  std::filesystem::create_directories(dir);
  write_file(dir / "conformance.json", report_json(run).dump(2) + "\n");
  write_file(dir / "junit.xml", junit_xml(run));
  write_file(dir / "summary.md", summary_markdown(run));
}

}  // namespace dmmap::conform
