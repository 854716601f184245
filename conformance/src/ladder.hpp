// The level ladder: the one way checks grade when a change made through some
// ranks' clients becomes visible through the others'. Its rungs, in order:
//
//   strict         right after the change (a barrier), the readers look
//                  through what they already had open and mapped;
//   msync          once the writers have synchronised (msync, fsync), the
//                  readers look the same way again;
//   close-to-open  once the writers have closed every descriptor and mapping
//                  of the file (the readers close theirs too), the readers
//                  open and map it afresh and look.
//
// A reader's level is the first rung at which it sees the change, none if it
// never does; it is reported with CheckContext::reached. Every reader looks
// at every rung, so what a later look notices can still be noted. A check
// without an msync step (an exec registration has nothing to msync) leaves
// `sync` unset and climbs strict -> close-to-open.
//
// Two entry points: climb_file() for a change to one file seen through file
// views (what shared.* checks and a test filesystem's dials are about), and
// climb() for any other state whose close-to-open step is not a file's.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "check.hpp"
#include "dmmap/fd.hpp"
#include "dmmap/probe/mapping.hpp"

namespace dmmap::conform {

// The steps of one climb, seen from this rank.
struct Rungs {
  std::string what{};                      // the observation's name in the report
  bool writer = false;                     // this rank makes the change
  bool reader = false;                     // this rank grades it
  std::function<void()> change{};          // writers
  std::function<void()> sync{};            // writers: the msync rung; unset: no msync rung
  std::function<void()> close{};           // every rank: close every descriptor and mapping involved
  std::function<bool(Level rung)> look{};  // readers: seen at this rung?
};

// Collective. The level this rank reached as a reader (nullopt elsewhere).
std::optional<Level> climb(CheckContext& ctx, const Rungs& rungs);

// A rank's view of a file: a descriptor and a MAP_SHARED mapping of `length` bytes.
struct FileView {
  FileView(const std::filesystem::path& file, std::size_t length, bool writable);
  Fd fd;
  Mapping map;
};

// One change to one file.
struct FileChange {
  std::string what;
  std::vector<int> writers{0};                              // the ranks that make the change
  bool writers_read = false;                                // writers grade too (each looks for every writer's change)
  std::size_t length = 0;                                   // bytes every view maps (0: one page)
  std::function<void(FileView&)> prime{};                   // every rank, before the change: cache, baseline
  std::function<void(FileView&)> make{};                    // writers, through their view
  std::function<void(FileView&)> sync{};                    // writers; unset: no msync rung
  std::function<bool(const FileView&, Level rung)> seen{};  // readers; at close-to-open a fresh read-only view
};

// Collective: every rank opens `file` read-write and maps it shared, primes
// its view, and climbs; the close-to-open rung closes every view and gives
// each reader a fresh one. The level this rank reached as a reader.
std::optional<Level> climb_file(CheckContext& ctx, const std::filesystem::path& file, const FileChange& change);

}  // namespace dmmap::conform
