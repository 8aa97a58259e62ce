// Merkle tree over the row hashes of a proof-of-compute matrix, in the shape
// of RFC 6962 section 2.1 (Certificate Transparency): inner node =
// SHA-256(0x01 || left || right), the left subtree holding the largest power
// of two of leaves below the total, and an inclusion proof listing the sibling
// hashes from the leaf up. A prover commits to C with the root alone and can
// later open any row with log2(n) hashes.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace flotilla::proof {

using Digest = std::array<std::uint8_t, 32>;

// Immutable once built; safe to share between threads.
class MerkleTree {
 public:
  // `leaves` must not be empty.
  explicit MerkleTree(std::vector<Digest> leaves);

  const Digest& root() const { return levels_.back().front(); }
  std::size_t leaf_count() const { return levels_.front().size(); }
  // Sibling hashes from the leaf up; `index` < leaf_count().
  std::vector<Digest> inclusion_proof(std::size_t index) const;

 private:
  // Level 0 holds the leaves; the last level holds the root. A level with an
  // odd count passes its last node up unchanged, which gives the RFC 6962 tree.
  std::vector<std::vector<Digest>> levels_;
};

// The root that `proof` leads to from `leaf` at `index` of `leaf_count`
// leaves, or nothing when the proof has the wrong length for that position.
std::optional<Digest> merkle_root_from_proof(const Digest& leaf, std::size_t index,
                                             std::size_t leaf_count,
                                             const std::vector<Digest>& proof);

Digest merkle_inner(const Digest& left, const Digest& right);

}  // namespace flotilla::proof
