#include "notifier.hpp"

#include "trace.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace dialfs {

namespace {

void report(int rc, const char* what, int mount) {
  // ENOENT: that kernel has forgotten the file, nothing to drop. ENODEV: the
  // mount is going away.
  if (rc < 0 && rc != -ENOENT && rc != -ENODEV)
    std::fprintf(stderr, "dmmap-dialfs: %s for mount %d: %s\n", what, mount, std::strerror(-rc));
}

}  // namespace

Notifier::Notifier(Store& store, std::function<fuse_session*(int)> session_of)
    : store_(store), session_of_(std::move(session_of)), thread_([this] { run(); }) {}

Notifier::~Notifier() {
  if (thread_.joinable()) stop();
}

void Notifier::send(const Change& change) {
  for (int m : change.mounts) {
    fuse_session* se = session_of_(m);
    if (!se) continue;
    trace("m{} invalidate ino {}", m, change.ino);
    report(fuse_lowlevel_notify_inval_inode(se, change.ino, 0, 0), "invalidating a file", m);
    if (!change.grew) continue;
    // A store of the file's last byte (as that client sees it) sets its
    // kernel's size; a store of nothing would not (the kernel grows the size
    // only for a store of at least one byte).
    if (auto last = store_.last_byte(m, change.ino)) {
      trace("m{} push size of ino {}: {}", m, change.ino, last->first);
      char byte = last->second;
      fuse_bufvec buffer = FUSE_BUFVEC_INIT(1);
      buffer.buf[0].mem = &byte;
      report(fuse_lowlevel_notify_store(se, change.ino, last->first - 1, &buffer, FUSE_BUF_NO_SPLICE),
             "pushing a grown size", m);
      // The store left a partly filled page in that cache; dropping it keeps
      // the next read of the file one contiguous request.
      report(fuse_lowlevel_notify_inval_inode(se, change.ino, last->first - 1, 1), "dropping the pushed page", m);
    }
  }
}

void Notifier::deliver(const Change& change) {
  if (!change) return;
  {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [&] { return !busy_.contains(change.ino); });
    busy_.insert(change.ino);
  }
  send(change);
  {
    std::lock_guard lock(mutex_);
    busy_.erase(change.ino);
  }
  idle_.notify_all();
}

void Notifier::deliver_or_queue(const Change& change) {
  if (!change) return;
  {
    std::lock_guard lock(mutex_);
    if (busy_.contains(change.ino)) {
      queue_.push_back(change);
      idle_.notify_all();
      return;
    }
    busy_.insert(change.ino);
  }
  send(change);
  {
    std::lock_guard lock(mutex_);
    busy_.erase(change.ino);
  }
  idle_.notify_all();
}

void Notifier::invalidate_own(int mount, fuse_ino_t ino) { deliver(Change{ino, {mount}, false}); }

void Notifier::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    auto ready = std::find_if(queue_.begin(), queue_.end(), [&](const Change& c) { return !busy_.contains(c.ino); });
    if (ready == queue_.end()) {
      if (stopping_ && queue_.empty()) return;
      idle_.wait(lock);
      continue;
    }
    const Change change = *ready;
    queue_.erase(ready);
    busy_.insert(change.ino);
    lock.unlock();
    send(change);
    lock.lock();
    busy_.erase(change.ino);
    idle_.notify_all();
  }
}

void Notifier::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  idle_.notify_all();
  thread_.join();
}

}  // namespace dialfs
