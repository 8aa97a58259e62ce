// Base58 as Solana writes addresses, signatures and blockhashes (the Bitcoin
// alphabet; each leading zero byte becomes a leading '1').
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace flotilla::chain {

std::string base58_encode(std::span<const std::uint8_t> bytes);

// nullopt when `text` holds a character outside the alphabet.
std::optional<std::vector<std::uint8_t>> base58_decode(std::string_view text);

}  // namespace flotilla::chain
