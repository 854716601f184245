// One measurement session inside an MPI job whose scratch area and
// environment already exist: the rank's binding, the timer's cost, every
// registered benchmark, then the augmented JSON and the HTML report.
// dmmap-bench and dmmap-certify (after the conformance catalog, in the same
// MPI job) both run it; Google Benchmark must be initialised before.
#pragma once

#include <filesystem>
#include <string>

#include "dmmap/json.hpp"
#include "dmmap/mpi_session.hpp"
#include "dmmap/sync.hpp"
#include "run_log.hpp"
#include "settings.hpp"

namespace dmmap::bench {

struct SessionOutputs {
  std::string json_path;  // rank 0: Google Benchmark's --benchmark_out file ("" = none)
  std::string html;       // rank 0: the HTML report ("" = none)
};

// `binding`: what bind_rank did on this rank (for the JSON context).
// Collective. Returns 0, or exit_status::kFailed when writing an output
// failed (the same on every rank); a rank that stops answering throws HangError.
int run_session(MpiSession& session, Sync& sync, const Settings& settings, const std::filesystem::path& scratch,
                const Json& environment, const std::string& binding, const SessionOutputs& outputs, RunLog& log);

}  // namespace dmmap::bench
