// SipHash-2-4 (Aumasson & Bernstein), identical to the Linux kernel's
// siphash() in <linux/siphash.h>, and the dmfs shared-secret proof built on
// it (docs/protocol.md, "Shared-secret proof").
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dmfs_proto.h"

namespace dmfs {

uint64_t siphash24(uint64_t k0, uint64_t k1, const void* data, size_t len);

struct AuthKey {
  uint64_t k0 = 0, k1 = 0;
};

// secret: raw secret bytes; trailing '\n'/'\r' are stripped and at most
// DMFS_MAX_SECRET bytes are used.
AuthKey derive_auth_key(std::string_view secret);

uint64_t client_proof(const AuthKey& key, const uint8_t client_nonce[DMFS_NONCE_LEN],
                      const uint8_t server_nonce[DMFS_NONCE_LEN]);
uint64_t server_proof(const AuthKey& key, const uint8_t client_nonce[DMFS_NONCE_LEN],
                      const uint8_t server_nonce[DMFS_NONCE_LEN]);

// Constant-time comparison of two 64-bit values.
bool proof_equal(uint64_t a, uint64_t b);

}  // namespace dmfs
