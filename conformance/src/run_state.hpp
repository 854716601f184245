// The outcome being recorded on this rank for the check that is running.
#pragma once

#include "outcome.hpp"

namespace dmmap::conform {

RankOutcome& current_outcome();
void set_current_outcome(RankOutcome* outcome);

}  // namespace dmmap::conform
