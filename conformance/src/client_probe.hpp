// Finding out which ranks are one client of the filesystem, before any check
// runs: ranks are one client exactly when they share a page cache.
//
// The probe (collective, a constant number of sync points whatever the rank
// count): ranks are grouped by kernel (boot_id) and by the device of their
// view; the lowest rank of each group creates a sparse probe file, every
// rank of the same kernel opens and maps every group's file through its own
// view, then each group's first rank faults in page 0 of its own file (with
// MADV_RANDOM, so that readahead adds as little as it can), and every rank
// asks mincore() whether page 0 of each file is resident, touching nothing.
// Seen resident: the rank shares that rank's page cache. Ranks of different
// kernels cannot share one and are not probed against each other; hostnames
// are shown as supporting evidence only (containers may share a kernel under
// different names, which is why the kernel's boot_id decides).
//
// Where mincore cannot tell, the run says so and ranks of that kernel count
// as one client (nothing is assumed distinct): a filesystem without a page
// cache for the file (DAX, FUSE direct_io) fails the positive control (the
// faulting rank itself does not see page 0 resident), one whose client reads
// far ahead or whose mincore answers "resident" for every page (a file the
// caller may not write) fails the negative control (the last page of the
// 8 MiB probe, never read, is resident). Observers open the file before page
// 0 is faulted in, so that an NFS-style revalidation at open cannot drop it.
#pragma once

#include <filesystem>

#include "client_map.hpp"
#include "dmmap/sync.hpp"

namespace dmmap::conform {

// `scratch`: this rank's path to the run's scratch directory (ScratchArea).
ClientMap detect_clients(Sync& sync, const std::filesystem::path& scratch);

}  // namespace dmmap::conform
