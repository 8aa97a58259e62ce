#include "reward_model/wallet.h"

#include <array>
#include <cstdint>

namespace flotilla::rewards {

std::optional<WalletKey> decode_wallet(std::string_view base58) {
  // Digit of each byte, or -1: the Bitcoin alphabet (no 0, O, I, l).
  static constexpr auto kDigit = [] {
    std::array<std::int8_t, 256> t{};
    t.fill(-1);
    constexpr std::string_view kAlphabet =
        "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
      t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
    }
    return t;
  }();
  // 32 bytes need at most 44 digits; refusing longer input bounds the work.
  if (base58.empty() || base58.size() > 44) return std::nullopt;
  std::size_t leading_ones = 0;  // each leading '1' stands for one leading zero byte
  while (leading_ones < base58.size() && base58[leading_ones] == '1') ++leading_ones;
  // The value in 32-bit limbs, least significant first; nine hold 44 digits.
  // Digits go in five at a time (58^5 < 2^32): an epoch of 180,000 payouts
  // decodes every wallet, so this is on the statement's hot path.
  std::uint32_t limbs[9] = {};
  std::size_t i = leading_ones;
  while (i < base58.size()) {
    std::uint64_t chunk = 0, scale = 1;
    for (int k = 0; k < 5 && i < base58.size(); ++k, ++i) {
      const int digit = kDigit[static_cast<unsigned char>(base58[i])];
      if (digit < 0) return std::nullopt;
      chunk = chunk * 58 + static_cast<std::uint64_t>(digit);
      scale *= 58;
    }
    std::uint64_t carry = chunk;
    for (std::uint32_t& limb : limbs) {
      carry += limb * scale;
      limb = static_cast<std::uint32_t>(carry);
      carry >>= 32;
    }
    if (carry != 0) return std::nullopt;
  }
  if (limbs[8] != 0) return std::nullopt;  // above 2^256
  WalletKey key{};
  for (std::size_t b = 0; b < 32; ++b) {
    key[31 - b] = static_cast<std::uint8_t>(limbs[b / 4] >> (8 * (b % 4)));
  }
  std::size_t zero_bytes = 0;
  while (zero_bytes < 32 && key[zero_bytes] == 0) ++zero_bytes;
  // Exactly 32 bytes: the leading ones and the value's own bytes must fill it.
  if (leading_ones + (32 - zero_bytes) != 32) return std::nullopt;
  return key;
}

}  // namespace flotilla::rewards
