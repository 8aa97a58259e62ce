// Solana wallet addresses as the reward model sees them: a base58 string that
// must decode to exactly 32 bytes (an ed25519 public key), so that a typo in the
// provider registry is caught before an epoch is signed off, not when paying.
#pragma once

#include <optional>
#include <string_view>

#include "reward_model/merkle.h"

namespace flotilla::rewards {

// Decodes a Bitcoin-alphabet base58 address; nullopt unless it is valid base58
// of exactly 32 bytes. Decode only: settlement (chain_settlement/) has the full
// codec, but the reward model may not depend on it (ARCHITECTURE.md), and
// checking an address is all it needs.
std::optional<WalletKey> decode_wallet(std::string_view base58);

}  // namespace flotilla::rewards
