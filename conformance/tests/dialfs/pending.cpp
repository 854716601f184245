#include "pending.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <iterator>
#include <limits>
#include <system_error>

namespace dialfs {

off_t Pending::end() const {
  if (extents_.empty()) return 0;
  const auto& [start, bytes] = *extents_.rbegin();
  return start + static_cast<off_t>(bytes.size());
}

void Pending::write(off_t offset, const char* data, std::size_t size) {
  if (size == 0) return;
  const off_t stop = offset + static_cast<off_t>(size);
  // The first extent that overlaps or touches [offset, stop), then every later one that does.
  auto first = extents_.upper_bound(offset);
  if (first != extents_.begin()) {
    auto prev = std::prev(first);
    if (prev->first + static_cast<off_t>(prev->second.size()) >= offset) first = prev;
  }
  off_t merged_start = offset, merged_stop = stop;
  auto last = first;
  for (; last != extents_.end() && last->first <= stop; ++last) {
    merged_start = std::min(merged_start, last->first);
    merged_stop = std::max(merged_stop, last->first + static_cast<off_t>(last->second.size()));
  }
  std::string merged(static_cast<std::size_t>(merged_stop - merged_start), '\0');
  for (auto it = first; it != last; ++it)
    std::memcpy(merged.data() + (it->first - merged_start), it->second.data(), it->second.size());
  std::memcpy(merged.data() + (offset - merged_start), data, size);
  extents_.erase(first, last);
  extents_.emplace(merged_start, std::move(merged));
  ::clock_gettime(CLOCK_REALTIME, &written_at_);
}

void Pending::erase(off_t offset, std::size_t size) {
  const off_t stop = offset + static_cast<off_t>(std::min<std::size_t>(
                                  size, static_cast<std::size_t>(std::numeric_limits<off_t>::max() - offset)));
  auto it = extents_.upper_bound(offset);
  if (it != extents_.begin()) --it;
  while (it != extents_.end() && it->first < stop) {
    const off_t start = it->first, end = start + static_cast<off_t>(it->second.size());
    if (end <= offset) {
      ++it;
      continue;
    }
    std::string bytes = std::move(it->second);
    it = extents_.erase(it);
    if (start < offset) extents_.emplace(start, bytes.substr(0, static_cast<std::size_t>(offset - start)));
    if (end > stop) extents_.emplace(stop, bytes.substr(static_cast<std::size_t>(stop - start)));
  }
}

void Pending::truncate(off_t size) { erase(size, std::numeric_limits<std::size_t>::max()); }

void Pending::overlay(off_t offset, char* buffer, std::size_t size) const {
  const off_t stop = offset + static_cast<off_t>(size);
  auto it = extents_.upper_bound(offset);
  if (it != extents_.begin()) --it;
  for (; it != extents_.end() && it->first < stop; ++it) {
    const off_t from = std::max(offset, it->first);
    const off_t to = std::min(stop, it->first + static_cast<off_t>(it->second.size()));
    if (from < to)
      std::memcpy(buffer + (from - offset), it->second.data() + (from - it->first),
                  static_cast<std::size_t>(to - from));
  }
}

void Pending::publish_to(int fd) {
  for (const auto& [start, bytes] : extents_) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::pwrite(fd, bytes.data() + done, bytes.size() - done, start + static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::system_error(n < 0 ? errno : EIO, std::generic_category(), "publishing to the store");
      done += static_cast<std::size_t>(n);
    }
  }
  extents_.clear();
}

}  // namespace dialfs
