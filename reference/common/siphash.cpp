#include "siphash.hpp"

#include <cstring>

namespace dmfs {
namespace {
inline uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }
inline void round(uint64_t& v0, uint64_t& v1, uint64_t& v2, uint64_t& v3) {
  v0 += v1;
  v1 = rotl(v1, 13);
  v1 ^= v0;
  v0 = rotl(v0, 32);
  v2 += v3;
  v3 = rotl(v3, 16);
  v3 ^= v2;
  v0 += v3;
  v3 = rotl(v3, 21);
  v3 ^= v0;
  v2 += v1;
  v1 = rotl(v1, 17);
  v1 ^= v2;
  v2 = rotl(v2, 32);
}
inline uint64_t load_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
}  // namespace

uint64_t siphash24(uint64_t k0, uint64_t k1, const void* data, size_t len) {
  const auto* in = static_cast<const uint8_t*>(data);
  uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
  uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
  uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
  uint64_t v3 = 0x7465646279746573ULL ^ k1;
  const size_t whole = len & ~size_t{7};
  for (size_t i = 0; i < whole; i += 8) {
    uint64_t m = load_le64(in + i);
    v3 ^= m;
    round(v0, v1, v2, v3);
    round(v0, v1, v2, v3);
    v0 ^= m;
  }
  uint64_t b = uint64_t(len) << 56;
  for (size_t i = 0; i < (len & 7); ++i) b |= uint64_t(in[whole + i]) << (8 * i);
  v3 ^= b;
  round(v0, v1, v2, v3);
  round(v0, v1, v2, v3);
  v0 ^= b;
  v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) round(v0, v1, v2, v3);
  return v0 ^ v1 ^ v2 ^ v3;
}

AuthKey derive_auth_key(std::string_view secret) {
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.remove_suffix(1);
  if (secret.size() > DMFS_MAX_SECRET) secret = secret.substr(0, DMFS_MAX_SECRET);
  AuthKey k;
  k.k0 = siphash24(DMFS_KDF_K0, DMFS_KDF_K1, secret.data(), secret.size());
  k.k1 = siphash24(DMFS_KDF_K1, DMFS_KDF_K0, secret.data(), secret.size());
  return k;
}

static uint64_t proof(const AuthKey& key, const char label[8], const uint8_t* a, const uint8_t* b) {
  uint8_t msg[8 + 2 * DMFS_NONCE_LEN];
  std::memcpy(msg, label, 8);
  std::memcpy(msg + 8, a, DMFS_NONCE_LEN);
  std::memcpy(msg + 8 + DMFS_NONCE_LEN, b, DMFS_NONCE_LEN);
  return siphash24(key.k0, key.k1, msg, sizeof msg);
}

uint64_t client_proof(const AuthKey& key, const uint8_t cn[DMFS_NONCE_LEN], const uint8_t sn[DMFS_NONCE_LEN]) {
  return proof(key, "dmfs-cli", cn, sn);
}

uint64_t server_proof(const AuthKey& key, const uint8_t cn[DMFS_NONCE_LEN], const uint8_t sn[DMFS_NONCE_LEN]) {
  return proof(key, "dmfs-srv", sn, cn);
}

bool proof_equal(uint64_t a, uint64_t b) {
  volatile uint64_t d = a ^ b;
  return d == 0;
}

}  // namespace dmfs
