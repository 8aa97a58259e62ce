// Solana addresses: the 32-byte Pubkey, its base58 form, the well-known program
// ids settlement uses, Solana's on-curve test, program derived addresses and
// associated token accounts.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scheduler/status.h"

namespace flotilla::chain {

// Value type, cheap to copy.
struct Pubkey {
  std::array<std::uint8_t, 32> bytes{};

  static std::optional<Pubkey> from_base58(std::string_view text);  // exactly 32 bytes
  std::string to_base58() const;
  auto operator<=>(const Pubkey&) const = default;
};

// A Pubkey from base58 text, with `what` naming the value in the error.
Result<Pubkey> parse_pubkey(std::string_view text, std::string_view what);

// A base58 address written in the source, decoded at compile time (a typo
// fails the build).
consteval Pubkey address_literal(std::string_view text) {
  constexpr std::string_view kAlphabet =
      "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  Pubkey key;
  for (char c : text) {
    unsigned carry = static_cast<unsigned>(kAlphabet.find(c));
    if (carry >= 58) throw "not a base58 character";
    for (std::size_t i = 32; i-- > 0;) {
      carry += static_cast<unsigned>(key.bytes[i]) * 58;
      key.bytes[i] = static_cast<std::uint8_t>(carry & 0xff);
      carry >>= 8;
    }
    if (carry != 0) throw "more than 32 bytes";
  }
  return key;
}

// Program ids, as the Solana runtime and SPL publish them.
inline constexpr Pubkey kSystemProgram = address_literal("11111111111111111111111111111111");
inline constexpr Pubkey kTokenProgram =
    address_literal("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
inline constexpr Pubkey kAssociatedTokenProgram =
    address_literal("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");
inline constexpr Pubkey kComputeBudgetProgram =
    address_literal("ComputeBudget111111111111111111111111111111");
inline constexpr Pubkey kMemoProgram =
    address_literal("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");
inline constexpr Pubkey kAddressLookupTableProgram =
    address_literal("AddressLookupTab1e1111111111111111111111111");

// True when the 32 bytes decompress to an Edwards point, exactly as the runtime
// decides (curve25519-dalek's CompressedEdwardsY::decompress): the sign bit and
// non-canonical y are not checked, and points of small order or outside the
// prime-order subgroup count as on the curve. libsodium's
// crypto_core_ed25519_is_valid_point is stricter (it also rejects those), so it
// would call most on-curve points "off" and derive the wrong addresses.
bool is_on_curve(std::span<const std::uint8_t, 32> bytes);

// sha256(seeds || program_id || "ProgramDerivedAddress"); nullopt when the hash
// is on the curve (such an address could have a private key).
std::optional<Pubkey> create_program_address(std::span<const std::span<const std::uint8_t>> seeds,
                                             const Pubkey& program);

// The first off-curve address with bump 255, 254, ..., 1 appended to the seeds,
// as solana_program's find_program_address tries them.
std::optional<std::pair<Pubkey, std::uint8_t>> find_program_address(
    std::span<const std::span<const std::uint8_t>> seeds, const Pubkey& program);

// The associated token account of `wallet` for `mint`: the PDA of
// [wallet, token_program, mint] under the Associated Token Account program.
Pubkey associated_token_address(const Pubkey& wallet, const Pubkey& mint,
                                const Pubkey& token_program = kTokenProgram);

}  // namespace flotilla::chain
