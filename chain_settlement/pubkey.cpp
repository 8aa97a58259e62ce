// Addresses, program derived addresses and the on-curve test. The field
// arithmetic here is only what the on-curve test needs: it is not constant-time
// and must never touch secret data (addresses are public).
#include "chain_settlement/pubkey.h"

#include <sodium.h>

#include <cassert>
#include <cstring>

#include "chain_settlement/base58.h"

namespace flotilla::chain {
namespace {

// An element of GF(2^255 - 19) in four little-endian 64-bit limbs, kept below
// 2^256 but not always fully reduced.
using Fe = std::array<std::uint64_t, 4>;
__extension__ using u128 = unsigned __int128;  // GCC/Clang extension

constexpr Fe kP{0xffffffffffffffedULL, 0xffffffffffffffffULL, 0xffffffffffffffffULL,
                0x7fffffffffffffffULL};
// Edwards d = -121665/121666 mod p (RFC 8032 section 5.1).
constexpr Fe kD{0x75eb4dca135978a3ULL, 0x00700a4d4141d8abULL, 0x8cc740797779e898ULL,
                0x52036cee2b6ffe73ULL};
// (p - 1) / 2 = 2^254 - 10: Euler's criterion exponent.
constexpr Fe kHalfPMinus1{0xfffffffffffffff6ULL, 0xffffffffffffffffULL, 0xffffffffffffffffULL,
                          0x3fffffffffffffffULL};

// Adds c * 38 (2^256 = 38 mod p) back into r until nothing carries out.
void fold(Fe& r, std::uint64_t carry) {
  while (carry != 0) {
    u128 acc = static_cast<u128>(carry) * 38;
    for (std::uint64_t& limb : r) {
      acc += limb;
      limb = static_cast<std::uint64_t>(acc);
      acc >>= 64;
    }
    carry = static_cast<std::uint64_t>(acc);
  }
}

Fe add(const Fe& a, const Fe& b) {
  Fe r;
  u128 acc = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    acc += static_cast<u128>(a[i]) + b[i];
    r[i] = static_cast<std::uint64_t>(acc);
    acc >>= 64;
  }
  fold(r, static_cast<std::uint64_t>(acc));
  return r;
}

Fe mul(const Fe& a, const Fe& b) {
  std::array<std::uint64_t, 8> t{};
  for (std::size_t i = 0; i < 4; ++i) {
    u128 carry = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const u128 cur = static_cast<u128>(a[i]) * b[j] + t[i + j] + carry;
      t[i + j] = static_cast<std::uint64_t>(cur);
      carry = cur >> 64;
    }
    t[i + 4] = static_cast<std::uint64_t>(carry);
  }
  Fe r;
  u128 acc = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    acc += static_cast<u128>(t[i + 4]) * 38 + t[i];
    r[i] = static_cast<std::uint64_t>(acc);
    acc >>= 64;
  }
  fold(r, static_cast<std::uint64_t>(acc));
  return r;
}

bool geq(const Fe& a, const Fe& b) {
  for (std::size_t i = 4; i-- > 0;) {
    if (a[i] != b[i]) return a[i] > b[i];
  }
  return true;
}

// The unique representative below p (values are below 2^256 = 2p + 38).
Fe reduce(Fe a) {
  while (geq(a, kP)) {
    std::uint64_t borrow = 0;
    for (std::size_t i = 0; i < 4; ++i) {
      const u128 sub = static_cast<u128>(kP[i]) + borrow;
      borrow = a[i] < sub ? 1 : 0;
      a[i] = static_cast<std::uint64_t>(static_cast<u128>(a[i]) - sub);
    }
  }
  return a;
}

Fe pow(const Fe& base, const Fe& exponent) {
  Fe r{1, 0, 0, 0};
  for (std::size_t bit = 256; bit-- > 0;) {
    r = mul(r, r);
    if ((exponent[bit / 64] >> (bit % 64)) & 1) r = mul(r, base);
  }
  return r;
}

}  // namespace

std::optional<Pubkey> Pubkey::from_base58(std::string_view text) {
  // 32 bytes never take more than 44 characters; refuse longer input before
  // the quadratic decode.
  if (text.size() > 44) return std::nullopt;
  const auto bytes = base58_decode(text);
  if (!bytes || bytes->size() != 32) return std::nullopt;
  Pubkey key;
  std::memcpy(key.bytes.data(), bytes->data(), 32);
  return key;
}

std::string Pubkey::to_base58() const {
  return base58_encode(bytes);
}

Result<Pubkey> parse_pubkey(std::string_view text, std::string_view what) {
  if (auto key = Pubkey::from_base58(text)) return *key;
  return Status::error(std::string(what) + " '" + std::string(text) +
                       "' is not a base58 Solana address (32 bytes)");
}

bool is_on_curve(std::span<const std::uint8_t, 32> bytes) {
  // y with the sign bit cleared; x^2 = (y^2 - 1) / (d y^2 + 1) must have a root.
  Fe y{};
  for (std::size_t i = 0; i < 32; ++i) {
    y[i / 8] |= static_cast<std::uint64_t>(bytes[i]) << (8 * (i % 8));
  }
  y[3] &= 0x7fffffffffffffffULL;
  const Fe yy = mul(y, y);
  const Fe u = add(yy, Fe{kP[0] - 1, kP[1], kP[2], kP[3]});  // y^2 - 1
  const Fe v = add(mul(kD, yy), Fe{1, 0, 0, 0});             // never 0: d is not a square
  // u/v is a square iff u*v is (multiply by v^2); Euler's criterion decides.
  const Fe w = reduce(mul(u, v));
  if (w == Fe{}) return true;
  return reduce(pow(w, kHalfPMinus1)) == Fe{1, 0, 0, 0};
}

std::optional<Pubkey> create_program_address(std::span<const std::span<const std::uint8_t>> seeds,
                                             const Pubkey& program) {
  static constexpr std::string_view kMarker = "ProgramDerivedAddress";
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  for (const auto& seed : seeds) crypto_hash_sha256_update(&state, seed.data(), seed.size());
  crypto_hash_sha256_update(&state, program.bytes.data(), program.bytes.size());
  crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(kMarker.data()),
                            kMarker.size());
  Pubkey address;
  crypto_hash_sha256_final(&state, address.bytes.data());
  if (is_on_curve(address.bytes)) return std::nullopt;
  return address;
}

std::optional<std::pair<Pubkey, std::uint8_t>> find_program_address(
    std::span<const std::span<const std::uint8_t>> seeds, const Pubkey& program) {
  std::vector<std::span<const std::uint8_t>> with_bump(seeds.begin(), seeds.end());
  std::uint8_t bump = 255;
  with_bump.emplace_back(&bump, 1);
  for (; bump > 0; --bump) {
    if (auto address = create_program_address(with_bump, program)) {
      return std::pair{*address, bump};
    }
  }
  return std::nullopt;
}

Pubkey associated_token_address(const Pubkey& wallet, const Pubkey& mint,
                                const Pubkey& token_program) {
  const std::array<std::span<const std::uint8_t>, 3> seeds{wallet.bytes, token_program.bytes,
                                                           mint.bytes};
  const auto found = find_program_address(seeds, kAssociatedTokenProgram);
  // 255 on-curve hashes in a row has probability 2^-255.
  assert(found);
  return found->first;
}

}  // namespace flotilla::chain
