#include "dmmap/probe/fault_probe.hpp"

#include <fmt/format.h>
#include <setjmp.h>
#include <signal.h>

#include <mutex>

namespace dmmap {
namespace {

// Per-thread landing pad: the handler only jumps when this thread armed a
// probe, so a genuine crash elsewhere still kills the process as it should.
struct Landing {
  sigjmp_buf env;
  volatile sig_atomic_t armed = 0;
  volatile int signal = 0;
  volatile int code = 0;
};
thread_local Landing landing;

struct sigaction previous_bus, previous_segv;

void on_fault(int sig, siginfo_t* info, void* context) {
  if (landing.armed) {
    landing.armed = 0;
    landing.signal = sig;
    landing.code = info->si_code;
    siglongjmp(landing.env, 1);
  }
  // Not ours: behave as if we had never been installed.
  const struct sigaction& prev = sig == SIGBUS ? previous_bus : previous_segv;
  if (prev.sa_flags & SA_SIGINFO) {
    prev.sa_sigaction(sig, info, context);
  } else if (prev.sa_handler != SIG_IGN && prev.sa_handler != SIG_DFL) {
    prev.sa_handler(sig);
  } else {
    signal(sig, SIG_DFL);
    raise(sig);
  }
}

void install_handlers_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &previous_bus);
    sigaction(SIGSEGV, &sa, &previous_segv);
  });
}

template <typename Access>
ProbeResult guarded(Access access) {
  install_handlers_once();
  ProbeResult result;
  if (sigsetjmp(landing.env, 1) == 0) {
    landing.armed = 1;
    result.value = access();
    landing.armed = 0;
  } else {
    result.signal = landing.signal;
    result.si_code = landing.code;
  }
  return result;
}

const char* code_name(int sig, int code) {
  if (sig == SIGBUS) {
    switch (code) {
      case BUS_ADRALN: return "BUS_ADRALN";
      case BUS_ADRERR: return "BUS_ADRERR";
      case BUS_OBJERR: return "BUS_OBJERR";
    }
  } else if (sig == SIGSEGV) {
    switch (code) {
      case SEGV_MAPERR: return "SEGV_MAPERR";
      case SEGV_ACCERR: return "SEGV_ACCERR";
    }
  }
  return "?";
}

}  // namespace

std::string ProbeResult::describe() const {
  if (ok()) return "ok";
  return fmt::format("{} ({})", sigabbrev_np(signal) ? fmt::format("SIG{}", sigabbrev_np(signal)) : "signal",
                     code_name(signal, si_code));
}

ProbeResult probe_load(const volatile std::uint8_t* addr) {
  return guarded([addr] { return static_cast<std::uint8_t>(*addr); });
}

ProbeResult probe_load_word(const volatile std::uint32_t* addr, std::uint32_t& value) {
  volatile std::uint32_t loaded = 0;
  ProbeResult result = guarded([addr, &loaded] {
    loaded = *addr;
    return std::uint8_t{0};
  });
  value = loaded;
  return result;
}

ProbeResult probe_store(volatile std::uint8_t* addr, std::uint8_t value) {
  return guarded([addr, value] {
    *addr = value;
    return value;
  });
}

}  // namespace dmmap
