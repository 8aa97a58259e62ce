#include "executor/proof_merkle.h"

#include <sodium.h>

#include <utility>

namespace flotilla::proof {

Digest merkle_inner(const Digest& left, const Digest& right) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  const unsigned char prefix = 0x01;
  crypto_hash_sha256_update(&st, &prefix, 1);
  crypto_hash_sha256_update(&st, left.data(), left.size());
  crypto_hash_sha256_update(&st, right.data(), right.size());
  Digest out;
  crypto_hash_sha256_final(&st, out.data());
  return out;
}

MerkleTree::MerkleTree(std::vector<Digest> leaves) {
  levels_.push_back(std::move(leaves));
  while (levels_.back().size() > 1) {
    const std::vector<Digest>& below = levels_.back();
    std::vector<Digest> above;
    above.reserve((below.size() + 1) / 2);
    for (std::size_t i = 0; i + 1 < below.size(); i += 2) {
      above.push_back(merkle_inner(below[i], below[i + 1]));
    }
    if (below.size() % 2 == 1) above.push_back(below.back());
    levels_.push_back(std::move(above));
  }
}

std::vector<Digest> MerkleTree::inclusion_proof(std::size_t index) const {
  std::vector<Digest> proof;
  for (std::size_t level = 0; level + 1 < levels_.size(); ++level) {
    const std::size_t sibling = index ^ 1;
    if (sibling < levels_[level].size()) proof.push_back(levels_[level][sibling]);
    index /= 2;
  }
  return proof;
}

std::optional<Digest> merkle_root_from_proof(const Digest& leaf, std::size_t index,
                                             std::size_t leaf_count,
                                             const std::vector<Digest>& proof) {
  if (index >= leaf_count) return std::nullopt;
  Digest node = leaf;
  std::size_t used = 0;
  for (std::size_t width = leaf_count; width > 1; width = (width + 1) / 2, index /= 2) {
    const std::size_t sibling = index ^ 1;
    if (sibling >= width) continue;  // the last node of an odd level moves up as is
    if (used == proof.size()) return std::nullopt;
    node = (index % 2 == 0) ? merkle_inner(node, proof[used]) : merkle_inner(proof[used], node);
    ++used;
  }
  if (used != proof.size()) return std::nullopt;
  return node;
}

}  // namespace flotilla::proof
