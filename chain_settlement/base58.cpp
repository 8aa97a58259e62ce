// Base58 by repeated division: quadratic, which is fine for the 32- and 64-byte
// values Solana encodes.
#include "chain_settlement/base58.h"

#include <algorithm>
#include <array>

namespace flotilla::chain {
namespace {

constexpr std::string_view kAlphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

constexpr std::array<std::int8_t, 128> make_index() {
  std::array<std::int8_t, 128> index{};
  index.fill(-1);
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    index[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  }
  return index;
}
constexpr std::array<std::int8_t, 128> kIndex = make_index();

}  // namespace

std::string base58_encode(std::span<const std::uint8_t> bytes) {
  const std::size_t zeros = static_cast<std::size_t>(
      std::find_if(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b != 0; }) -
      bytes.begin());
  // Base-58 digits, least significant first; log(256)/log(58) < 1.37.
  std::vector<std::uint8_t> digits;
  digits.reserve(bytes.size() * 137 / 100 + 1);
  for (std::size_t i = zeros; i < bytes.size(); ++i) {
    unsigned carry = bytes[i];
    for (std::uint8_t& d : digits) {
      carry += static_cast<unsigned>(d) << 8;
      d = static_cast<std::uint8_t>(carry % 58);
      carry /= 58;
    }
    while (carry > 0) {
      digits.push_back(static_cast<std::uint8_t>(carry % 58));
      carry /= 58;
    }
  }
  std::string out(zeros, '1');
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) out.push_back(kAlphabet[*it]);
  return out;
}

std::optional<std::vector<std::uint8_t>> base58_decode(std::string_view text) {
  const std::size_t ones = static_cast<std::size_t>(
      std::find_if(text.begin(), text.end(), [](char c) { return c != '1'; }) - text.begin());
  // Bytes, least significant first.
  std::vector<std::uint8_t> bytes;
  bytes.reserve(text.size() * 733 / 1000 + 1);
  for (std::size_t i = ones; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= kIndex.size() || kIndex[c] < 0) return std::nullopt;
    unsigned carry = static_cast<unsigned>(kIndex[c]);
    for (std::uint8_t& b : bytes) {
      carry += static_cast<unsigned>(b) * 58;
      b = static_cast<std::uint8_t>(carry & 0xff);
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push_back(static_cast<std::uint8_t>(carry & 0xff));
      carry >>= 8;
    }
  }
  std::vector<std::uint8_t> out(ones, 0);
  out.insert(out.end(), bytes.rbegin(), bytes.rend());
  return out;
}

}  // namespace flotilla::chain
