// dmmap-certify CONFIG.ini: one MPI program that runs the conformance catalog,
// then the benchmarks, on the target the INI file names, and leaves one
// verifiable result directory (docs/certify.md). --verify DIR checks one.
#include <fmt/format.h>

#include <optional>
#include <string>
#include <vector>

#include "config.hpp"
#include "dmmap/exit_status.hpp"
#include "dmmap/mpi_session.hpp"
#include "dmmap/options.hpp"
#include "run.hpp"
#include "verify.hpp"

using namespace dmmap;

namespace {

struct Cli {
  std::optional<std::string> config, verify;
  bool help = false, list_options = false, version = false;
};

OptionParser make_parser(Cli& cli) {
  OptionParser p("mpirun -np N dmmap-certify", "CONFIG.ini | --verify DIR | --list-options");
  p.section("Run")
      .flag("--list-options", "print every configuration key with its default and meaning, and exit",
            [&] { cli.list_options = true; })
      .value("--verify", "DIR",
             "recompute the SHA-256 of every file of a result directory against its result.json "
             "(no mpirun needed)",
             [&](const std::string& v) { cli.verify = v; });
  p.section("Other").flag("--help", "this text", [&] { cli.help = true; }).flag("--version", "print the version", [&] {
    cli.version = true;
  });
  return p;
}

constexpr const char* kEpilogue =
    "\nThe run writes RESULTDIR/dmmap-HOST-TIME/ (config as given and resolved, conformance.json,\n"
    "junit.xml, summary.md, bench.json, logs/rank-N.log, report.html, result.json) and DIR.tgz;\n"
    "progress goes to stderr. See dmmap-certify(1) and docs/certify.md.\n"
    "\nExit status (identical on every rank; docs/exit-status.md): 0 PASS, 1 a check failed (or XPASS),\n"
    "a benchmark failed, or --verify found a difference, 2 bad usage, a bad configuration, an unusable\n"
    "target or a refused control run, 4 a rank stopped answering (HANG).\n";

// The one positional argument (CONFIG.ini) is taken out before the options.
Cli parse(int argc, char** argv) {
  Cli cli;
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool takes_value = arg == "--verify";
    if (arg.rfind("-", 0) != 0) {
      if (cli.config) throw UsageError(fmt::format("one configuration file, not '{}' and '{}'", *cli.config, arg));
      cli.config = arg;
    } else {
      rest.push_back(argv[i]);
      if (takes_value && i + 1 < argc) rest.push_back(argv[++i]);
    }
  }
  int n = static_cast<int>(rest.size());
  rest.push_back(nullptr);
  make_parser(cli).parse(n, rest.data());
  const int modes = (cli.config ? 1 : 0) + (cli.verify ? 1 : 0) + (cli.list_options ? 1 : 0);
  if (!cli.help && !cli.version && modes != 1)
    throw UsageError("give one of CONFIG.ini, --verify DIR and --list-options (see --help)");
  return cli;
}

}  // namespace

int main(int argc, char** argv) {
  Cli cli;
  try {
    cli = parse(argc, argv);
  } catch (const UsageError& e) {
    fmt::print(stderr, "dmmap-certify: {}\n", e.what());
    return exit_status::kUsage;
  }
  // Everything but a run works without MPI (and without mpirun).
  if (cli.help) {
    Cli ignored;
    fmt::print("{}{}", make_parser(ignored).help(), kEpilogue);
    return exit_status::kOk;
  }
  if (cli.version) fmt::print("dmmap-certify {}\n", DMMAP_VERSION);
  if (cli.list_options) fmt::print("{}", certify::list_options());
  if (cli.verify) return certify::verify_command(*cli.verify);
  if (!cli.config) return exit_status::kOk;
  MpiSession mpi(&argc, &argv);
  return certify::certify_run(mpi, *cli.config);
}
