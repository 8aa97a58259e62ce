// The device-capable SHA-256 of executor/proof_sha256.h against libsodium, and the
// GPU's row leaf hash against the verifier's.
#include "executor/proof_sha256.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <random>
#include <vector>

#include "executor/proof_of_compute.h"

namespace flotilla::proof {
namespace {

TEST(Sha256, MatchesLibsodiumAcrossBlockBoundaries) {
  std::mt19937 rng(7);
  for (std::size_t len : {0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 4099}) {
    std::vector<std::uint8_t> data(len);
    for (auto& b : data) b = static_cast<std::uint8_t>(rng());
    Sha256 h;
    // Fed in two uneven parts: the streaming state must not care.
    h.update(data.data(), len / 3);
    h.update(data.data() + len / 3, len - len / 3);
    Digest ours, theirs;
    h.finish(ours.data());
    crypto_hash_sha256(theirs.data(), data.data(), data.size());
    EXPECT_EQ(ours, theirs) << "length " << len;
  }
}

TEST(Sha256, KnownAnswerForAbc) {
  // FIPS 180-4 example: SHA-256("abc").
  Sha256 h;
  const std::uint8_t abc[] = {'a', 'b', 'c'};
  h.update(abc, 3);
  Digest d;
  h.finish(d.data());
  const Digest expected = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
                           0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
                           0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
  EXPECT_EQ(d, expected);
}

// The leaf spelled out with libsodium: SHA-256(0x00 || row u32 LE || SHA-256
// of each 256-value chunk of the row).
Digest leaf_by_libsodium(std::uint32_t row, const std::vector<float>& values) {
  std::vector<std::uint8_t> msg = {
      0x00, static_cast<std::uint8_t>(row), static_cast<std::uint8_t>(row >> 8),
      static_cast<std::uint8_t>(row >> 16), static_cast<std::uint8_t>(row >> 24)};
  for (std::size_t first = 0; first < values.size(); first += 256) {
    const std::size_t count = std::min<std::size_t>(256, values.size() - first);
    Digest chunk;
    crypto_hash_sha256(chunk.data(), reinterpret_cast<const std::uint8_t*>(&values[first]),
                       count * sizeof(float));
    msg.insert(msg.end(), chunk.begin(), chunk.end());
  }
  Digest d;
  crypto_hash_sha256(d.data(), msg.data(), msg.size());
  return d;
}

TEST(Sha256, RowLeafInOnePassAndInTheGpusTwoPassesAgreeWithLibsodium) {
  for (std::uint32_t n : {16u, 48u, 256u, 592u, 1024u}) {
    std::vector<float> row(n);
    for (std::uint32_t j = 0; j < n; ++j) row[j] = static_cast<float>(j % 37) / 16.0f - 1.5f;
    const Digest expected = leaf_by_libsodium(300, row);
    EXPECT_EQ(row_leaf(300, row), expected) << n;
    // The GPU: every chunk hash first, then the leaf from them.
    std::vector<std::uint8_t> chunks(32 * leaf_chunks(n));
    for (std::uint32_t k = 0; k < leaf_chunks(n); ++k) {
      row_chunk_hash(row.data(), n, k, &chunks[32 * k]);
    }
    Digest two_pass;
    row_leaf_from_chunks(300, chunks.data(), leaf_chunks(n), two_pass.data());
    EXPECT_EQ(two_pass, expected) << n;
    EXPECT_NE(row_leaf(301, row), expected);  // the row number is bound in
  }
}

}  // namespace
}  // namespace flotilla::proof
