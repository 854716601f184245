// The measurement kernels (one file each in this folder).
#pragma once

#include <memory>
#include <string>

#include "kernel.hpp"

namespace dmmap::bench {

struct FaultShape {
  std::size_t pages = 256;
  bool fault_around = true;  // off: one VMA per page, so one fault per page (fault_mapping.hpp)
  bool batch = false;        // one timer around all loads instead of one per load
};

// First load of each page of a fresh shared mapping. cached: this rank's own
// file, in its page cache; uncached: the file the next rank wrote, through
// this rank's view, after POSIX_FADV_DONTNEED.
std::unique_ptr<Kernel> make_read_fault(bool cached, const FaultShape& shape);

// First store to each page of a shared mapping. mkwrite: the page was read
// through this mapping (mapped read-only, clean) so the store takes the
// write-protect fault (->page_mkwrite); uncached: the page is not cached.
std::unique_ptr<Kernel> make_write_fault(bool mkwrite, const FaultShape& shape);

// Ranks 0 and 1 map one file; the owner dirties `dirty_pages`, then the
// other stores to page 0 (timed), and the roles swap: one-way cost of taking
// a page another client holds dirty.
std::unique_ptr<Kernel> make_revocation(std::size_t dirty_pages);

// Ranks 0 and 1 map one file; the writer stores to it, the other times one
// fstat(), the writer stores again (a fault there: its lock was recalled).
std::unique_ptr<Kernel> make_stat_remote_writer();

enum class Transfer { read, write, readback };
enum class Layout { file_per_rank, shared_file };
const char* name_of(Transfer t);
const char* name_of(Layout l);
// Sequential mapped transfer of `bytes` per rank.
std::unique_ptr<Kernel> make_throughput(Transfer transfer, Layout layout, std::size_t bytes);

// Every active rank spawns the same binary stored in the scratch directory at
// once; time from spawn to the child's exit.
std::unique_ptr<Kernel> make_exec_launch(const std::string& source_binary);

}  // namespace dmmap::bench
