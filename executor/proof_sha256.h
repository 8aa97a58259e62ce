// SHA-256 (FIPS 180-4) as a small streaming hasher that also compiles as CUDA
// device code, and the Merkle leaf of a row of C built on it: the GPU prover
// hashes C where it lies, so that committing to C does not cost a copy of the
// whole matrix to the host; the CPU prover and the verifier use the same
// functions. The tests check the hasher against libsodium. Sha256 is a value
// type; one instance per thread.
#pragma once

#include <cstddef>
#include <cstdint>

#include "executor/proof_matrix.h"  // FLOTILLA_HOST_DEVICE

// On the GPU the 64 rounds are unrolled so that the round constants and the
// message schedule live in registers rather than in per-thread local memory.
#ifdef __CUDA_ARCH__
#define FLOTILLA_UNROLL _Pragma("unroll")
#else
#define FLOTILLA_UNROLL
#endif

namespace flotilla::proof {

class Sha256 {
 public:
  FLOTILLA_HOST_DEVICE Sha256() {
    const std::uint32_t init[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    for (int i = 0; i < 8; ++i) state_[i] = init[i];
  }

  FLOTILLA_HOST_DEVICE void update(const std::uint8_t* data, std::size_t len) {
    bytes_ += len;
    while (len > 0 && (used_ > 0 || len < 64)) {  // fill the partial block
      block_[used_++] = *data++;
      --len;
      if (used_ == 64) {
        compress(block_);
        used_ = 0;
      }
    }
    for (; len >= 64; data += 64, len -= 64) compress(data);  // whole blocks in place
    while (len > 0) {
      block_[used_++] = *data++;
      --len;
    }
  }

  FLOTILLA_HOST_DEVICE void finish(std::uint8_t digest[32]) {
    const std::uint64_t bits = bytes_ * 8;
    const std::uint8_t one = 0x80, zero = 0;
    update(&one, 1);
    while (used_ != 56) update(&zero, 1);
    for (int i = 7; i >= 0; --i) {
      const auto b = static_cast<std::uint8_t>(bits >> (8 * i));
      update(&b, 1);
    }
    for (int i = 0; i < 8; ++i) {
      for (int j = 0; j < 4; ++j) {
        digest[4 * i + j] = static_cast<std::uint8_t>(state_[i] >> (24 - 8 * j));
      }
    }
  }

 private:
  FLOTILLA_HOST_DEVICE static std::uint32_t rotr(std::uint32_t x, int n) {
    return (x >> n) | (x << (32 - n));
  }

  FLOTILLA_HOST_DEVICE void compress(const std::uint8_t* block) {
    // FIPS 180-4 section 4.2.2: the first 32 bits of the fractional parts of
    // the cube roots of the first 64 primes.
    constexpr std::uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2};
    std::uint32_t w[64];
    FLOTILLA_UNROLL
    for (int i = 0; i < 16; ++i) {
      w[i] = (std::uint32_t{block[4 * i]} << 24) | (std::uint32_t{block[4 * i + 1]} << 16) |
             (std::uint32_t{block[4 * i + 2]} << 8) | std::uint32_t{block[4 * i + 3]};
    }
    FLOTILLA_UNROLL
    for (int i = 16; i < 64; ++i) {
      const std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    std::uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
    std::uint32_t e = state_[4], f = state_[5], g = state_[6], h = state_[7];
    FLOTILLA_UNROLL
    for (int i = 0; i < 64; ++i) {
      const std::uint32_t t1 =
          h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      const std::uint32_t t2 =
          (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    state_[0] += a;
    state_[1] += b;
    state_[2] += c;
    state_[3] += d;
    state_[4] += e;
    state_[5] += f;
    state_[6] += g;
    state_[7] += h;
  }

  std::uint32_t state_[8];
  std::uint8_t block_[64] = {};
  unsigned used_ = 0;
  std::uint64_t bytes_ = 0;
};

// Rows are hashed in chunks of this many values, so that a GPU hashes
// n * n / 256 chunks in parallel instead of n long rows one thread each.
constexpr std::uint32_t kLeafChunkValues = 256;

FLOTILLA_HOST_DEVICE inline std::uint32_t leaf_chunks(std::uint32_t n) {
  return (n + kLeafChunkValues - 1) / kLeafChunkValues;
}

// SHA-256 of chunk `chunk` of a row (its FP32 values, little-endian as stored).
FLOTILLA_HOST_DEVICE inline void row_chunk_hash(const float* row_values, std::uint32_t n,
                                                std::uint32_t chunk, std::uint8_t digest[32]) {
  const std::uint32_t first = chunk * kLeafChunkValues;
  const std::uint32_t count = n - first < kLeafChunkValues ? n - first : kLeafChunkValues;
  Sha256 h;
  h.update(reinterpret_cast<const std::uint8_t*>(row_values + first),
           std::size_t{count} * sizeof(float));
  h.finish(digest);
}

// The Merkle leaf of row `row` from its chunk hashes:
// SHA-256(0x00 || row as u32 little-endian || chunk hash 0 || chunk hash 1 ...).
// The 0x00 prefix keeps leaves apart from inner nodes (RFC 6962 section 2.1);
// the row number binds each row to its place.
FLOTILLA_HOST_DEVICE inline void row_leaf_from_chunks(std::uint32_t row,
                                                      const std::uint8_t* chunk_digests,
                                                      std::uint32_t chunks,
                                                      std::uint8_t digest[32]) {
  Sha256 h;
  const std::uint8_t head[5] = {
      0x00, static_cast<std::uint8_t>(row), static_cast<std::uint8_t>(row >> 8),
      static_cast<std::uint8_t>(row >> 16), static_cast<std::uint8_t>(row >> 24)};
  h.update(head, sizeof head);
  h.update(chunk_digests, std::size_t{chunks} * 32);
  h.finish(digest);
}

// The Merkle leaf of row `row` of C (n FP32 values) in one pass: what the CPU
// prover and the verifier compute; the GPU gets the same digest in two passes
// (row_chunk_hash for every chunk, then row_leaf_from_chunks).
FLOTILLA_HOST_DEVICE inline void row_leaf_hash(std::uint32_t row, const float* values,
                                               std::uint32_t n, std::uint8_t digest[32]) {
  Sha256 h;
  const std::uint8_t head[5] = {
      0x00, static_cast<std::uint8_t>(row), static_cast<std::uint8_t>(row >> 8),
      static_cast<std::uint8_t>(row >> 16), static_cast<std::uint8_t>(row >> 24)};
  h.update(head, sizeof head);
  for (std::uint32_t k = 0; k < leaf_chunks(n); ++k) {
    std::uint8_t chunk[32];
    row_chunk_hash(values, n, k, chunk);
    h.update(chunk, sizeof chunk);
  }
  h.finish(digest);
}

}  // namespace flotilla::proof
