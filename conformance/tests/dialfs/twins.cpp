#include "twins.hpp"

#include <algorithm>
#include <cstring>

namespace dialfs {

std::string& Twins::page(off_t index) {
  std::string& p = pages_[index];
  if (p.empty()) p.assign(page_, '\0');
  return p;
}

void Twins::read(off_t offset, std::size_t requested, const char* data, std::size_t size) {
  if (offset % static_cast<off_t>(page_) != 0) return;  // not a page-cache read: no page came of it
  const off_t first = offset / static_cast<off_t>(page_);
  for (std::size_t i = 0; i * page_ < requested; ++i) {
    std::string& p = pages_[first + static_cast<off_t>(i)];
    p.assign(page_, '\0');
    if (i * page_ < size) std::memcpy(p.data(), data + i * page_, std::min(page_, size - i * page_));
  }
}

void Twins::wrote(off_t offset, const char* data, std::size_t size) {
  for (std::size_t done = 0; done < size;) {
    const off_t pos = offset + static_cast<off_t>(done);
    const off_t index = pos / static_cast<off_t>(page_);
    const std::size_t in = static_cast<std::size_t>(pos % static_cast<off_t>(page_));
    const std::size_t n = std::min(page_ - in, size - done);
    if (auto it = pages_.find(index); it != pages_.end())
      std::memcpy(it->second.data() + in, data + done, n);
    else if (n == page_)
      pages_[index].assign(data + done, page_);
    done += n;
  }
}

void Twins::written_back(off_t offset, const char* data, std::size_t size, const Sink& changed) {
  for (std::size_t done = 0; done < size;) {
    const off_t pos = offset + static_cast<off_t>(done);
    const off_t index = pos / static_cast<off_t>(page_);
    const std::size_t in = static_cast<std::size_t>(pos % static_cast<off_t>(page_));
    const std::size_t n = std::min(page_ - in, size - done);
    const char* chunk = data + done;
    if (auto it = pages_.find(index); it == pages_.end()) {
      changed(pos, chunk, n);
    } else {
      const char* twin = it->second.data() + in;
      for (std::size_t i = 0; i < n;) {
        if (chunk[i] == twin[i]) {
          ++i;
          continue;
        }
        std::size_t j = i;
        while (j < n && chunk[j] != twin[j]) ++j;
        changed(pos + static_cast<off_t>(i), chunk + i, j - i);
        i = j;
      }
    }
    std::memcpy(page(index).data() + in, chunk, n);
    done += n;
  }
}

void Twins::truncate(off_t size) {
  const off_t page = static_cast<off_t>(page_);
  pages_.erase(pages_.lower_bound((size + page - 1) / page), pages_.end());
  if (auto it = pages_.find(size / page); size % page != 0 && it != pages_.end())
    std::fill(it->second.begin() + size % page, it->second.end(), '\0');
}

}  // namespace dialfs
