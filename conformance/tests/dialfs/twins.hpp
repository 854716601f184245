// --merge bytes: the pages of one file as one client's kernel holds them
// clean (its "twins", as multiple-writer distributed shared memories call
// them). A page the kernel writes back is compared with its twin, and only the
// bytes the client changed are kept, so that two clients storing into
// different bytes of one page do not overwrite each other's bytes.
//
// A twin follows what reaches that kernel's cache through the daemon: READ
// replies (the kernel reads whole pages, zero-filled past the end), write(2)
// data (which the kernel copies into its cached page), the pages it writes
// back, and its own truncations.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <map>
#include <string>

namespace dialfs {

class Twins {
 public:
  using Sink = std::function<void(off_t offset, const char* data, std::size_t size)>;

  explicit Twins(std::size_t page_size) : page_(page_size) {}
  // A READ of `requested` bytes at `offset` answered with `data` (`size` bytes, fewer at the end).
  void read(off_t offset, std::size_t requested, const char* data, std::size_t size);
  // A write(2): the twins the kernel holds take the bytes; a whole page becomes one.
  void wrote(off_t offset, const char* data, std::size_t size);
  // A page write-back: passes each run of bytes that differ from the twin
  // (everything where there is none) to `changed`, then records the pages.
  void written_back(off_t offset, const char* data, std::size_t size, const Sink& changed);
  // This client truncated the file.
  void truncate(off_t size);

 private:
  std::string& page(off_t index);

  std::size_t page_;
  std::map<off_t, std::string> pages_;  // page index -> page_ bytes
};

}  // namespace dialfs
