// dmmap-conform: does this filesystem behave like one machine when several
// nodes map the same file? Launched with mpirun; rank 0 reports.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <optional>

#include "check.hpp"
#include "client_probe.hpp"
#include "dmmap/environment.hpp"
#include "dmmap/mpi_session.hpp"
#include "dmmap/options.hpp"
#include "dmmap/target.hpp"
#include "needs.hpp"
#include "profile.hpp"
#include "suite.hpp"

using namespace dmmap;
using namespace dmmap::conform;

namespace {

struct Cli {
  TargetSpec target;
  SuiteConfig suite;
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  std::string hook;                               // --hook as given; resolved (with DMMAP_HOOK) after parsing
  std::string profile_arg;                        // --profile as given; resolved (with DMMAP_PROFILE) after parsing
  std::optional<Profile> profile;                 // unset: auto
  std::optional<std::chrono::milliseconds> race;  // --race-seconds as given
  bool help = false, list = false, version = false;
};

// "2", "0.5": a positive number of seconds, at most an hour.
std::chrono::milliseconds parse_race_seconds(const std::string& text) {
  double seconds = 0;
  const auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (err != std::errc() || end != text.data() + text.size() || !(seconds >= 0.001) || seconds > 3600)
    throw UsageError(fmt::format("--race-seconds takes a number of seconds from 0.001 to 3600, not '{}'", text));
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

// The race duration: as given, or the default (shorter with --quick). A race
// must end well before the longest wait at a sync point, or it would be
// judged a HANG: a given one longer than half of --timeout is refused, the
// default is cut to half of it.
void settle_race(Cli& cli) {
  using namespace std::chrono_literals;
  const auto half = std::chrono::duration_cast<std::chrono::milliseconds>(cli.timeout / 2);
  if (cli.race && *cli.race > half)
    throw UsageError(fmt::format("--race-seconds ({} ms) must be at most half of --timeout ({} ms)", cli.race->count(),
                                 cli.timeout.count()));
  cli.suite.params.race = cli.race.value_or(
      std::min<std::chrono::milliseconds>(cli.suite.quick ? 500ms : 2000ms, half));
}

OptionParser make_parser(Cli& cli) {
  OptionParser p("mpirun -np N dmmap-conform", "(--dir PATH | --dirs P0,P1,...) [options]");
  p.section("Target")
      .value("--dir", "PATH", "directory on the filesystem under test; every rank uses it (one mount per node)",
             [&](const std::string& v) { cli.target.views = {v}; })
      .value("--dirs", "P0,P1,...", "rank i uses P[i mod n]: several mounts of one filesystem on one node",
             [&](const std::string& v) { cli.target = TargetSpec::parse_dirs(v); })
      .flag("--keep", "keep the run's scratch directory (dmmap-*) instead of removing it",
            [&] { cli.suite.keep = true; })
      .value("--hook", "CMD",
             "target hook the eviction checks call as 'CMD evict|freeze|thaw DIR' (default: $DMMAP_HOOK; "
             "without one they SKIP; see docs/conformance.md)",
             [&](const std::string& v) {
               if (v.empty()) throw UsageError("--hook needs a path");
               cli.hook = v;
             });
  p.section("Target profile")
      .value("--profile", "NAME|FILE",
             fmt::format("what the filesystem declares and the suite cannot measure (eviction timeout, ...): a "
                         "shipped profile ({}), a profile file, or auto (by filesystem type; the default unless "
                         "$DMMAP_PROFILE says otherwise); see docs/conformance.md",
                         fmt::join(shipped_profile_names(), ", ")),
             [&](const std::string& v) {
               if (v.empty()) throw UsageError("--profile needs a name or a file");
               cli.profile_arg = v;
             });
  p.section("Verdict")
      .value("--expect", "LEVEL", "level the filesystem must reach: strict (default), msync, close-to-open",
             [&](const std::string& v) {
               auto level = parse_level(v);
               if (!level || *level == Level::none)
                 throw UsageError(fmt::format("--expect takes strict, msync or close-to-open, not '{}'", v));
               cli.suite.expected = *level;
             })
      .value("--known-failures", "FILE",
             "checks known to fail here, one 'ID reason' a line: FAIL becomes XFAIL, PASS becomes XPASS (a failure)",
             [&](const std::string& v) {
               try {
                 cli.suite.known_failures = KnownFailures::load(v);
               } catch (const std::runtime_error& e) {
                 throw UsageError(e.what());
               }
             })
      .value("--report", "DIR", "write conformance.json, junit.xml and summary.md into DIR",
             [&](const std::string& v) { cli.suite.report_dir = v; })
      .value("--timeout", "DURATION",
             "longest wait at a sync point before the run ends with HANG (default 60s; the profile's eviction "
             "timeout is added)",
             [&](const std::string& v) { cli.timeout = parse_duration(v); })
      .value("--check-time-limit", "DURATION",
             "a check still running after this ends as FAIL naming it (default: 5 x the sync timeout + 1 s a rank)",
             [&](const std::string& v) {
               cli.suite.check_time_limit = parse_duration(v);
               if (cli.suite.check_time_limit.count() <= 0) throw UsageError("--check-time-limit must be positive");
             });
  p.section("Selection")
      .flag("--quick", "run the smoke subset only", [&] { cli.suite.quick = true; })
      .value("--max-active", "N",
             "ranks that run each check, one per client first (default 4; the others observe, so that a check's "
             "work does not grow with the job)",
             [&](const std::string& v) {
               cli.suite.max_active = static_cast<int>(parse_count(v, "--max-active"));
               if (cli.suite.max_active < 2) throw UsageError("--max-active must be at least 2");
             })
      .flag("--list", "print the catalog of checks and exit", [&] { cli.list = true; });
  p.section("Races (race.*)")
      .value("--race-seconds", "S",
             "how long each race.* check races its two sides, in seconds, at most half of --timeout "
             "(default 2, with --quick 0.5, cut to half of --timeout)",
             [&](const std::string& v) { cli.race = parse_race_seconds(v); });
  p.section("Randomised model check (model.random-ops)")
      .value(
          "--seed", "S", "seed of the operation sequence (default: chosen at random and reported)",
          [&](const std::string& v) { cli.suite.params.seed = static_cast<std::uint64_t>(parse_count(v, "--seed")); })
      .value("--ops", "N", "number of operations (default 1000)",
             [&](const std::string& v) {
               cli.suite.params.ops = static_cast<int>(parse_count(v, "--ops"));
               if (cli.suite.params.ops < 1) throw UsageError("--ops must be at least 1");
             })
      .value("--model-size", "BYTES",
             "bytes of each window of the file: [0, BYTES) and, where the filesystem allows, BYTES above 4 GiB "
             "(default 2097152, at least 65536)",
             [&](const std::string& v) {
               cli.suite.params.model_size = static_cast<std::size_t>(parse_count(v, "--model-size"));
               if (cli.suite.params.model_size < 65536) throw UsageError("--model-size must be at least 65536");
             });
  p.section("Other").flag("--help", "this text", [&] { cli.help = true; }).flag("--version", "print the version", [&] {
    cli.version = true;
  });
  return p;
}

std::string epilogue() {
  return fmt::format(
      "\nGoogleTest flags work too, on the GoogleTest names (family.name with '_' for '-'),\n"
      "e.g. --gtest_filter='shared.*'.\n"
      "\nExit status (identical on every rank; docs/exit-status.md): {} PASS, {} a check failed (or XPASS),\n"
      "{} bad usage or unusable target, {} a rank stopped answering (HANG).\n",
      kExitPass, kExitFail, kExitUsage, kExitHang);
}

// One line a check: id, "level" if it measures one, summary, [quick], and
// what it needs beyond ranks (it SKIPs where a need is not met).
void print_catalog() {
  for (const CheckInfo& c : catalog()) {
    const std::string needs = describe_needs(c);
    fmt::print("{:<28} {:<6} {}{}{}\n", c.id, c.measures_level ? "level" : "", c.summary, c.quick ? "  [quick]" : "",
               needs.empty() ? "" : "  [needs " + needs + "]");
  }
}

void print_header(const MpiSession& mpi, const Cli& cli, const Json& env, const ScratchArea& scratch,
                  const ClientMap& clients) {
  fmt::print("dmmap-conform {}: {} ranks, expected level {}\n", DMMAP_VERSION, mpi.size(),
             to_string(cli.suite.expected));
  for (auto& rank : env.at("ranks").as_array()) {
    auto& fs = rank.at("filesystem");
    const int r = static_cast<int>(rank.at("rank").as_number());
    fmt::print("  rank {} on {}: {} ({}, {}), client {}\n", r, rank.at("hostname").as_string(),
               fs.at("view").as_string(), fs.at("type").as_string(), fs.at("options").as_string(),
               clients.client_of(r));
  }
  fmt::print("  clients: {}{} ({})\n", clients.clients(),
             clients.multi_client() ? "" : " -- a CONTROL RUN, not a multi-client certificate", clients.basis());
  fmt::print("  scratch directory: {}{}\n", scratch.path().string(), cli.suite.keep ? " (kept)" : "");
  fmt::print("  {}\n\n", cli.suite.params.profile.describe());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  MpiSession mpi(&argc, &argv);
  Cli cli;
  OptionParser parser = make_parser(cli);
  try {
    parser.parse(argc, argv, {"--gtest_"});
    if (!cli.help && !cli.list && !cli.version && cli.target.empty())
      throw UsageError("say where to run: --dir PATH or --dirs P0,P1,... (see --help)");
    if (!cli.help && !cli.list && !cli.version) {
      cli.suite.params.hook = resolve_hook(cli.hook);
      cli.profile = requested_profile(cli.profile_arg);
    }
    settle_race(cli);
  } catch (const UsageError& e) {
    if (mpi.is_root()) fmt::print(stderr, "dmmap-conform: {}\n", e.what());
    return kExitUsage;
  }
  if (cli.help || cli.list || cli.version) {
    if (mpi.is_root()) {
      if (cli.help) fmt::print("{}{}", parser.help(), epilogue());
      if (cli.version) fmt::print("dmmap-conform {}\n", DMMAP_VERSION);
      if (cli.list) print_catalog();
    }
    return 0;
  }
  ::testing::InitGoogleTest(&argc, argv);

  try {
    mpi.join(cli.timeout);
    Sync sync(mpi.comm(), cli.timeout);
    ScratchArea scratch(sync, cli.target, cli.suite.keep);
    Json env = gather_environment(sync, scratch.view());
    cli.suite.params.profile = establish_profile(sync, cli.profile, env, scratch.path(), cli.timeout);
    sync.set_timeout(cli.suite.params.profile.sync_timeout());
    ClientMap clients = detect_clients(sync, scratch.path());
    if (mpi.is_root()) print_header(mpi, cli, env, scratch, clients);
    Suite suite(mpi, sync, scratch, cli.suite, std::move(env), std::move(clients));
    suite.register_checks();
    return suite.run();
  } catch (const TargetError& e) {
    if (mpi.is_root()) fmt::print(stderr, "dmmap-conform: cannot use the target:\n{}\n", e.what());
    return kExitUsage;
  } catch (const HangError& e) {
    fmt::print(stderr, "dmmap-conform: rank {}: HANG during set-up: {}\n", mpi.rank(), e.what());
    mpi.abort(kExitHang);
  }
}
