// The dials of dmmap-dialfs: each one sets one behaviour of every client
// (mount) of the daemon. Their exact semantics are in docs/dialfs.md; the
// conformance levels each setting must give are in matrix.txt.
#pragma once

#include <chrono>
#include <string>

namespace dialfs {

// When a client's written data reaches the shared store, where other clients
// can read it. Points are cumulative: `write` also publishes at sync and close.
enum class Publish {
  write,  // a write(2) at once; page-cache write-back (mapped stores) at sync or close
  sync,   // fsync/fdatasync/msync(MS_SYNC), or close
  close,  // close only (an fsync returns success and publishes nothing)
};

// Who sees a lock: the client's own kernel only, every client, or nobody (ENOSYS).
enum class LockScope { local, cluster, off };

struct Dials {
  Publish publish = Publish::write;
  bool notify = false;       // invalidate other clients' caches at each publish (and push a grown size)
  bool keep_cache = false;   // an open keeps the client's cached pages (FOPEN_KEEP_CACHE)
  bool merge_bytes = false;  // a written-back page carries only the bytes the client changed
  long time_granularity_ns = 1;
  bool cluster_etxtbsy = false;  // a binary running on one client cannot be opened for writing on another
  // With cluster_etxtbsy: how long a conflicting handle that looks closed (its
  // process gone, or its last descriptor closed) may take to be released
  // before the conflict is refused, as a server waits for a client's close.
  std::chrono::milliseconds release_wait{std::chrono::seconds(5)};
  LockScope locks = LockScope::local;  // fcntl byte-range locks
  LockScope flock = LockScope::local;  // flock(2)

  // "publish=sync notify=on on-open=keep ..." (the daemon's banner, the docs' notation).
  std::string describe() const;
};

std::string to_string(Publish p);
std::string to_string(LockScope s);

// Parsers for the command line; each throws dmmap::UsageError naming the
// option and its accepted values.
Publish parse_publish(const std::string& text);
bool parse_on_off(const std::string& option, const std::string& text);
bool parse_on_open(const std::string& text);  // true: keep
bool parse_merge(const std::string& text);    // true: bytes
LockScope parse_lock_scope(const std::string& option, const std::string& text);
// "1ns", "10us", "1ms", "1s": a power of ten nanoseconds up to one second.
long parse_granularity(const std::string& text);

}  // namespace dialfs
