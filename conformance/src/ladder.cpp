#include "ladder.hpp"

#include <fcntl.h>
#include <sys/mman.h>

#include <algorithm>
#include <memory>

#include "dmmap/probe/files.hpp"

namespace dmmap::conform {

std::optional<Level> climb(CheckContext& ctx, const Rungs& rungs) {
  std::optional<Level> level;
  auto look = [&](Level rung) {
    if (rungs.reader && rungs.look(rung) && !level) level = rung;
  };
  if (rungs.writer && rungs.change) rungs.change();
  ctx.barrier();
  look(Level::strict);
  ctx.barrier();  // the readers have looked before the writers synchronise
  if (rungs.sync) {
    if (rungs.writer) rungs.sync();
    ctx.barrier();
    look(Level::msync);
    ctx.barrier();
  }
  if (rungs.close) rungs.close();
  ctx.barrier();  // every descriptor and mapping of the writers is closed
  look(Level::close_to_open);
  if (rungs.reader) ctx.reached(level.value_or(Level::none), rungs.what);
  ctx.barrier();
  return level;
}

FileView::FileView(const std::filesystem::path& file, std::size_t length, bool writable)
    : fd(open_file(file, writable ? O_RDWR : O_RDONLY)),
      map(fd.get(), length, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED) {}

std::optional<Level> climb_file(CheckContext& ctx, const std::filesystem::path& file, const FileChange& change) {
  const std::size_t length = change.length ? change.length : page_size();
  const bool writer = std::find(change.writers.begin(), change.writers.end(), ctx.rank()) != change.writers.end();
  auto view = std::make_unique<FileView>(file, length, true);
  if (change.prime) change.prime(*view);
  ctx.barrier();  // every client has the file open, mapped and primed before the change

  Rungs rungs;
  rungs.what = change.what;
  rungs.writer = writer;
  rungs.reader = !writer || change.writers_read;
  rungs.change = [&] { change.make(*view); };
  if (change.sync) rungs.sync = [&] { change.sync(*view); };
  rungs.close = [&] { view.reset(); };
  rungs.look = [&](Level rung) {
    if (rung != Level::close_to_open) return change.seen(*view, rung);
    const FileView fresh(file, length, false);
    return change.seen(fresh, rung);
  };
  return climb(ctx, rungs);
}

}  // namespace dmmap::conform
