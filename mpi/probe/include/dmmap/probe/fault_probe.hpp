// Touch one byte of a mapping and survive SIGBUS/SIGSEGV.
//
// Conformance checks must observe a fault (access beyond EOF, a revoked binary)
// as a result, not as the death of the test process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace dmmap {

struct ProbeResult {
  int signal = 0;        // 0: the access completed; else SIGBUS or SIGSEGV
  int si_code = 0;       // the kernel's reason (BUS_ADRERR, SEGV_ACCERR, ...)
  std::uint8_t value{};  // the byte loaded (or stored) when signal == 0

  bool ok() const { return signal == 0; }
  // "ok", "SIGBUS (BUS_ADRERR)", ...
  std::string describe() const;
};

// Loads one byte from `addr`.
ProbeResult probe_load(const volatile std::uint8_t* addr);
// Loads one aligned 32-bit word from `addr` in a single access, so a
// concurrent aligned store is seen whole or not at all; `value` receives it
// when the access completed.
ProbeResult probe_load_word(const volatile std::uint32_t* addr, std::uint32_t& value);
// Stores `value` at `addr`.
ProbeResult probe_store(volatile std::uint8_t* addr, std::uint8_t value);

}  // namespace dmmap
