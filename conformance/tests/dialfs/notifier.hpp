// Tells other clients' kernels that a file changed in the shared store
// (--notify on): fuse_lowlevel_notify_inval_inode drops their cached pages and
// attributes of the file (dirty pages are first written back to the daemon),
// and a grown size is pushed with fuse_lowlevel_notify_store, because a kernel
// takes a file's size only from a reply or a store, never at a page fault.
//
// An invalidation waits for the target kernel's page locks. A request whose
// own kernel holds page locks or blocks write-back while it waits for the
// reply (WRITE from write(2), SETATTR of the size) must therefore never wait
// for another invalidation of the same file, or two clients could wait for
// each other for ever: such requests queue their invalidation when another is
// under way (deliver_or_queue). Every other request delivers before replying.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "store.hpp"

namespace dialfs {

class Notifier {
 public:
  // `session_of(m)`: mount m's session while it is live, else nullptr.
  Notifier(Store& store, std::function<fuse_session*(int)> session_of);
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Delivers `change` before returning.
  void deliver(const Change& change);
  // Delivers at once unless another delivery for the same file is under way;
  // then queues it for the background thread and returns.
  void deliver_or_queue(const Change& change);
  // Drops `mount`'s own cached pages and attributes of the file (the
  // cluster locks: taking a lock must not leave stale pages, releasing one
  // writes the client's dirty pages back to the daemon).
  void invalidate_own(int mount, fuse_ino_t ino);
  // Delivers what is queued and stops the background thread.
  void stop();

 private:
  void send(const Change& change);
  void run();

  Store& store_;
  std::function<fuse_session*(int)> session_of_;
  std::mutex mutex_;
  std::condition_variable idle_;
  std::set<fuse_ino_t> busy_;  // files with a delivery under way
  std::deque<Change> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace dialfs
