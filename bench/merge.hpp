// Every rank's latency histogram merged, over the harness's collectives (each
// wait bounded, a missing rank named).
#pragma once

#include "dmmap/collective.hpp"
#include "histogram.hpp"

namespace dmmap::bench {

// The same result on every rank.
Histogram merged(Collectives& ranks, const Histogram& local);

}  // namespace dmmap::bench
