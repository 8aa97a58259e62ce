// The Merkle tree over an epoch's payouts: anyone holding the statement's root
// can check one provider's payout from a proof of about log2(payouts) hashes,
// without the rest of the statement. The encoding is documented byte by byte in
// reward_model/README.md so that a third party can verify without our code.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flotilla::rewards {

using Digest = std::array<std::uint8_t, 32>;
using WalletKey = std::array<std::uint8_t, 32>;  // an ed25519 public key

// SHA-256 (libsodium) of bytes.
Digest sha256(std::string_view bytes);

// Lower-case hex of a digest, and back (nullopt unless exactly 64 lower-case hex digits).
std::string to_hex(const Digest& d);
std::optional<Digest> digest_from_hex(std::string_view hex);

// leaf = SHA-256(0x00 || epoch u64 LE || wallet 32 bytes || amount u64 LE || provider bytes).
// The provider id comes last so its length needs no prefix.
Digest payout_leaf(std::uint64_t epoch, const WalletKey& wallet, std::uint64_t amount,
                   std::string_view provider);

// inner = SHA-256(0x01 || left || right). The prefixes keep a leaf from ever
// being passed off as an inner node and the other way round.
Digest inner_node(const Digest& left, const Digest& right);

// Root of leaves in the given order (the statement's payout order). A level with
// an odd count promotes its last node unchanged instead of pairing it with
// itself, so no two different leaf lists share a root. No leaves: 32 zero bytes.
Digest merkle_root(const std::vector<Digest>& leaves);

// One step up from a node: the sibling's hash and which side it sits on.
struct ProofStep {
  bool sibling_is_left = false;
  Digest sibling{};
  friend bool operator==(const ProofStep&, const ProofStep&) = default;
};

// The siblings from leaf `index` to the root (levels where the node is promoted
// contribute no step). `index` must be < leaves.size().
std::vector<ProofStep> merkle_proof(const std::vector<Digest>& leaves, std::size_t index);

// The root a leaf and its proof lead to; equal to the statement's root iff the proof holds.
Digest root_from_proof(const Digest& leaf, const std::vector<ProofStep>& proof);

}  // namespace flotilla::rewards
