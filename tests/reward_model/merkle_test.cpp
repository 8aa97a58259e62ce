// Merkle tree of payouts: known SHA-256 vectors, the documented leaf and node
// encoding, proofs of every leaf at many sizes, and tampered proofs refused.
#include "reward_model/merkle.h"

#include <gtest/gtest.h>

namespace flotilla::rewards {
namespace {

Digest leaf_n(std::uint64_t i) {
  WalletKey w{};
  w[0] = static_cast<std::uint8_t>(i);
  return payout_leaf(7, w, 1000 + i, "p" + std::to_string(i));
}

TEST(RewardMerkle, Sha256KnownVector) {
  EXPECT_EQ(to_hex(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(RewardMerkle, LeafEncodingIsTheDocumentedBytes) {
  WalletKey w{};
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<std::uint8_t>(i);
  std::string bytes(1, '\0');
  for (std::uint64_t v : {std::uint64_t{3}}) {
    for (int i = 0; i < 8; ++i) bytes += static_cast<char>(v >> (8 * i));
  }
  bytes.append(reinterpret_cast<const char*>(w.data()), w.size());
  for (int i = 0; i < 8; ++i) bytes += static_cast<char>(std::uint64_t{0x0102030405} >> (8 * i));
  bytes += "acme";
  EXPECT_EQ(payout_leaf(3, w, 0x0102030405, "acme"), sha256(bytes));
  const Digest a = leaf_n(1), b = leaf_n(2);
  std::string node(1, '\1');
  node.append(reinterpret_cast<const char*>(a.data()), 32);
  node.append(reinterpret_cast<const char*>(b.data()), 32);
  EXPECT_EQ(inner_node(a, b), sha256(node));
}

TEST(RewardMerkle, OddNodeIsPromotedNotDuplicated) {
  const std::vector<Digest> three{leaf_n(0), leaf_n(1), leaf_n(2)};
  EXPECT_EQ(merkle_root(three), inner_node(inner_node(three[0], three[1]), three[2]));
  EXPECT_EQ(merkle_root({three[0]}), three[0]);
  EXPECT_EQ(merkle_root({}), Digest{});
  // Duplicating the last leaf must not give the same root (CVE-2012-2459 style).
  EXPECT_NE(merkle_root({three[0], three[1], three[2], three[2]}), merkle_root(three));
}

TEST(RewardMerkle, EveryProofVerifiesAndTamperedOnesDoNot) {
  for (std::size_t n = 1; n <= 33; ++n) {
    std::vector<Digest> leaves;
    for (std::size_t i = 0; i < n; ++i) leaves.push_back(leaf_n(i));
    const Digest root = merkle_root(leaves);
    for (std::size_t i = 0; i < n; ++i) {
      const std::vector<ProofStep> proof = merkle_proof(leaves, i);
      ASSERT_EQ(root_from_proof(leaves[i], proof), root) << n << " leaves, leaf " << i;
      EXPECT_LE(proof.size(), 6u);
      // Another leaf with this proof, a flipped bit, a swapped side: all fail.
      if (n > 1) {
        EXPECT_NE(root_from_proof(leaves[(i + 1) % n], proof), root);
      }
      for (std::size_t k = 0; k < proof.size(); ++k) {
        std::vector<ProofStep> bad = proof;
        bad[k].sibling[5] ^= 1;
        EXPECT_NE(root_from_proof(leaves[i], bad), root);
        bad = proof;
        bad[k].sibling_is_left = !bad[k].sibling_is_left;
        EXPECT_NE(root_from_proof(leaves[i], bad), root);
      }
    }
  }
}

TEST(RewardMerkle, HexRoundTripAndRefusals) {
  const Digest d = leaf_n(9);
  EXPECT_EQ(digest_from_hex(to_hex(d)), d);
  std::string upper = to_hex(d);
  upper[0] = 'A';
  EXPECT_FALSE(digest_from_hex(upper));
  EXPECT_FALSE(digest_from_hex(to_hex(d).substr(1)));
  EXPECT_FALSE(digest_from_hex(std::string(64, 'g')));
}

}  // namespace
}  // namespace flotilla::rewards
