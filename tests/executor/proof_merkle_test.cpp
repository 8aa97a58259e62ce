// The Merkle tree against RFC 6962's recursive definition, and its proofs.
#include "executor/proof_merkle.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <vector>

namespace flotilla::proof {
namespace {

Digest leaf(std::uint32_t i) {
  Digest d{};
  crypto_hash_sha256(d.data(), reinterpret_cast<const unsigned char*>(&i), sizeof i);
  return d;
}

// RFC 6962 section 2.1: MTH(D[n]) = H(0x01 || MTH(D[0:k]) || MTH(D[k:n])),
// k the largest power of two below n.
Digest rfc6962_root(const std::vector<Digest>& d, std::size_t lo, std::size_t hi) {
  if (hi - lo == 1) return d[lo];
  std::size_t k = 1;
  while (k * 2 < hi - lo) k *= 2;
  return merkle_inner(rfc6962_root(d, lo, lo + k), rfc6962_root(d, lo + k, hi));
}

TEST(MerkleTree, RootIsRfc6962sForEveryCount) {
  for (std::size_t n = 1; n <= 40; ++n) {
    std::vector<Digest> leaves;
    for (std::uint32_t i = 0; i < n; ++i) leaves.push_back(leaf(i));
    const MerkleTree tree(leaves);
    EXPECT_EQ(tree.root(), rfc6962_root(leaves, 0, n)) << n << " leaves";
  }
}

TEST(MerkleTree, EveryProofLeadsToTheRootAndOnlyFromItsLeaf) {
  for (std::size_t n : {1, 2, 3, 5, 8, 13, 33}) {
    std::vector<Digest> leaves;
    for (std::uint32_t i = 0; i < n; ++i) leaves.push_back(leaf(i));
    const MerkleTree tree(leaves);
    for (std::size_t i = 0; i < n; ++i) {
      const std::vector<Digest> proof = tree.inclusion_proof(i);
      EXPECT_EQ(merkle_root_from_proof(leaves[i], i, n, proof), tree.root());
      EXPECT_NE(merkle_root_from_proof(leaf(1000), i, n, proof), tree.root());
      if (n > 1) {
        EXPECT_NE(merkle_root_from_proof(leaves[i], (i + 1) % n, n, proof), tree.root());
      }
    }
  }
}

TEST(MerkleTree, MalformedProofsAreRejected) {
  std::vector<Digest> leaves;
  for (std::uint32_t i = 0; i < 9; ++i) leaves.push_back(leaf(i));
  const MerkleTree tree(leaves);
  std::vector<Digest> proof = tree.inclusion_proof(4);
  std::vector<Digest> longer = proof;
  longer.push_back(leaf(99));
  EXPECT_FALSE(merkle_root_from_proof(leaves[4], 4, 9, longer));
  proof.pop_back();
  EXPECT_FALSE(merkle_root_from_proof(leaves[4], 4, 9, proof));
  EXPECT_FALSE(merkle_root_from_proof(leaves[4], 9, 9, tree.inclusion_proof(4)));
  std::vector<Digest> flipped = tree.inclusion_proof(4);
  flipped[0][5] ^= 1;
  EXPECT_NE(merkle_root_from_proof(leaves[4], 4, 9, flipped), tree.root());
}

}  // namespace
}  // namespace flotilla::proof
