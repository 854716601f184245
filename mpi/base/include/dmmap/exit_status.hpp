// The exit statuses of every dmmap program (dmmap-conform, dmmap-bench,
// dmmap-compare, dmfsd, and the target hooks they call): one table, so that a
// script or a CI job reads a status the same way whichever program it ran.
// docs/exit-status.md is its documentation; --help texts quote it.
#pragma once

namespace dmmap::exit_status {

// Done: every check passed, no regression, the hook did ACTION.
inline constexpr int kOk = 0;
// What was tested failed: a check FAILed (or XPASSed), a regression, a
// measurement or server error.
inline constexpr int kFailed = 1;
// Bad usage or an unusable target: a clear message, nothing left behind.
inline constexpr int kUsage = 2;
// A target hook only: this target cannot do ACTION (the check SKIPs).
inline constexpr int kUnsupported = 3;
// A rank stopped answering at a sync point or collective; the report names it.
inline constexpr int kHang = 4;

}  // namespace dmmap::exit_status
