// shared.multi-process: on every client but rank 0's, the file is seen
// through five views set up (and read, so cached) before rank 0's store: the
// rank's own mapping, a forked child sharing that mapping, a mapping grown
// with mremap() (the store lands in the grown part), a MAP_POPULATE mapping
// and an mlock()ed one. Each must see rank 0's store: a revocation that
// reaches only the faulting process's page tables, or skips populated or
// locked ones (the seed HLD's unmap_mapping_range over every mapping of the
// inode), leaves one view stale. Graded on the level ladder (ladder.hpp).
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "check.hpp"
#include "dmmap/probe/child.hpp"
#include "dmmap/probe/files.hpp"
#include "dmmap/probe/mapping.hpp"
#include "ladder.hpp"

namespace dmmap::conform {
namespace {

constexpr std::uint8_t kOld = 0x3C, kNew = 0xC3;
constexpr char kQuit = 'q';

// The bytes rank 0 changes: one in page 0, one in page 1 (the grown part of the mremap view).
std::size_t offset_of(int which) { return which == 0 ? 100 : page_size() + 200; }

// A forked child of this rank that shares `map` and, for each byte it is
// sent (which offset), answers the byte it loads there; kQuit ends it.
class ForkedView {
 public:
  explicit ForkedView(const Mapping& map) {
    int to[2], from[2];
    if (::pipe2(to, O_CLOEXEC) != 0 || ::pipe2(from, O_CLOEXEC) != 0)
      throw std::system_error(errno, std::generic_category(), "pipe2");
    Fd to_read(to[0]), from_write(from[1]);
    to_ = Fd(to[1]);
    from_ = Fd(from[0]);
    const volatile std::uint8_t* data = map.data();
    child_.emplace(AsyncChild::fork([&to_read, &from_write, data] {
      char which = 0;
      while (::read(to_read.get(), &which, 1) == 1 && which != kQuit) {
        const std::uint8_t byte = data[offset_of(which)];
        if (::write(from_write.get(), &byte, 1) != 1) return 1;
      }
      return 0;
    }));
  }
  std::uint8_t load(int which) {
    const char c = static_cast<char>(which);
    std::uint8_t byte = 0;
    if (::write(to_.get(), &c, 1) != 1 || ::read(from_.get(), &byte, 1) != 1)
      throw std::runtime_error("the fork child sharing the mapping stopped answering: " + child_->outcome().describe());
    return byte;
  }
  // Ends the child (it holds the file open and mapped); its exit must be clean.
  void end() {
    const char c = kQuit;
    if (::write(to_.get(), &c, 1) != 1) throw std::system_error(errno, std::generic_category(), "write to child");
    const ChildOutcome& out = child_->wait();
    EXPECT_TRUE(out.exited_with(0)) << "the fork child sharing the mapping ended badly: " << out.describe();
  }

 private:
  Fd to_, from_;
  std::optional<AsyncChild> child_;
};

// Every view of one reader.
struct Views {
  Views(int fd, std::size_t size, CheckContext& ctx)
      : own(fd, size, PROT_READ, MAP_SHARED),
        grown(fd, page_size(), PROT_READ, MAP_SHARED),
        populated(fd, size, PROT_READ, MAP_SHARED | MAP_POPULATE),
        locked(fd, size, PROT_READ, MAP_SHARED) {
    if (count_equal(grown.data(), page_size(), kOld) != page_size()) ADD_FAILURE() << "the file is not as written";
    grown.grow(size);
    if (::mlock(locked.data(), size) != 0)
      ctx.note(fmt::format("mlock refused ({}): the locked view is an ordinary one", std::strerror(errno)));
    for (const Mapping* m : {&own, &grown, &populated, &locked})
      if (count_equal(m->data(), size, kOld) != size) ADD_FAILURE() << "a view does not show the file as written";
    child = std::make_unique<ForkedView>(own);
  }
  // The views that do not show kNew at both changed bytes.
  std::vector<std::string> stale() {
    std::vector<std::string> out;
    const std::pair<const char*, const Mapping*> maps[] = {
        {"own mapping", &own}, {"mremap-grown", &grown}, {"MAP_POPULATE", &populated}, {"mlocked", &locked}};
    for (const auto& [name, m] : maps)
      if (m->data()[offset_of(0)] != kNew || m->data()[offset_of(1)] != kNew) out.emplace_back(name);
    if (child->load(0) != kNew || child->load(1) != kNew) out.emplace_back("fork child");
    return out;
  }
  Mapping own, grown, populated, locked;
  std::unique_ptr<ForkedView> child;
};

void run(CheckContext& ctx) {
  const std::size_t size = 2 * page_size();
  const auto file = ctx.path("views");
  if (ctx.rank() == 0) create_file(file, size, kOld);
  ctx.barrier();
  const bool writer = ctx.rank() == 0;
  auto fd = std::make_unique<Fd>(open_file(file, O_RDWR));
  std::unique_ptr<Mapping> store;
  std::unique_ptr<Views> views;
  if (writer)
    store = std::make_unique<Mapping>(fd->get(), size, PROT_READ | PROT_WRITE, MAP_SHARED);
  else
    views = std::make_unique<Views>(fd->get(), size, ctx);
  ctx.barrier();  // every view is set up and cached before the change

  bool noted = false;
  Rungs rungs;
  rungs.what = fmt::format("mapped store by rank 0 -> every view of rank {}", ctx.rank());
  rungs.writer = writer;
  rungs.reader = !writer;
  rungs.change = [&] { store->data()[offset_of(0)] = store->data()[offset_of(1)] = kNew; };
  rungs.sync = [&] { store->sync(); };
  rungs.close = [&] {
    if (views) views->child->end();
    views.reset();
    store.reset();
    fd.reset();
  };
  rungs.look = [&](Level rung) {
    if (rung == Level::close_to_open) {
      const FileView fresh(file, size, false);
      return fresh.map.data()[offset_of(0)] == kNew && fresh.map.data()[offset_of(1)] == kNew;
    }
    const auto stale = views->stale();
    if (!stale.empty() && !std::exchange(noted, true))
      ctx.note(fmt::format("at {}: stale views: {}", to_string(rung), fmt::join(stale, ", ")));
    return stale.empty();
  };
  climb(ctx, rungs);
}

const CheckRegistration check({
    .id = "shared.multi-process",
    .summary = "a fork child, an mremap-grown, a MAP_POPULATE and an mlocked mapping all see a remote store",
    .measures_level = true,
    .distinct_clients = true,
    .forks = true,
    .run = run,
});

}  // namespace
}  // namespace dmmap::conform
