#include "chain_settlement/pubkey.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <cstring>

#include "tests/chain_settlement/vectors.h"

namespace flotilla::chain {
namespace {

using testing::from_hex;
using testing::vectors;

std::array<std::uint8_t, 32> bytes32(std::string_view hex) {
  std::array<std::uint8_t, 32> out{};
  const auto v = from_hex(hex);
  std::memcpy(out.data(), v.data(), 32);
  return out;
}

TEST(Pubkey, ParsesOnlyThirtyTwoBytes) {
  EXPECT_EQ(Pubkey::from_base58("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"), kTokenProgram);
  EXPECT_EQ(kTokenProgram.to_base58(), "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
  EXPECT_EQ(kSystemProgram.to_base58(), "11111111111111111111111111111111");
  EXPECT_FALSE(Pubkey::from_base58("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5D"));    // 31 bytes
  EXPECT_FALSE(Pubkey::from_base58("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DAA"));  // 33 bytes
  EXPECT_FALSE(Pubkey::from_base58(""));
  const auto bad = parse_pubkey("not-an-address", "wallet");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.message(), "wallet 'not-an-address' is not a base58 Solana address (32 bytes)");
}

TEST(Pubkey, CompileTimeLiteralsMatchRuntimeDecoding) {
  for (const Pubkey& p : {kTokenProgram, kAssociatedTokenProgram, kComputeBudgetProgram,
                          kMemoProgram, kAddressLookupTableProgram, kSystemProgram}) {
    EXPECT_EQ(Pubkey::from_base58(p.to_base58()), p);
  }
}

TEST(OnCurve, MatchesOracleOnHashes) {
  int on = 0;
  for (const auto& v : vectors()["on_curve"]) {
    const auto b = bytes32(v["hex"].get<std::string>());
    EXPECT_EQ(is_on_curve(b), v["on_curve"].get<bool>()) << v["hex"];
    on += v["on_curve"].get<bool>();
  }
  // About half of all 32-byte strings decompress; the vectors must cover both.
  EXPECT_GT(on, 80);
  EXPECT_LT(on, 176);
}

// libsodium's is_valid_point also rejects points outside the prime-order
// subgroup (7 in 8 of the points on the curve): using it would call such hashes
// off-curve and derive addresses the runtime refuses.
TEST(OnCurve, LibsodiumValidPointIsStricterThanTheRuntime) {
  ASSERT_GE(sodium_init(), 0);
  int on_curve_but_invalid = 0;
  for (const auto& v : vectors()["on_curve"]) {
    const auto b = bytes32(v["hex"].get<std::string>());
    const bool valid = crypto_core_ed25519_is_valid_point(b.data()) == 1;
    if (valid) {
      EXPECT_TRUE(is_on_curve(b));  // stricter, never looser
    }
    on_curve_but_invalid += (!valid && v["on_curve"].get<bool>());
  }
  EXPECT_GT(on_curve_but_invalid, 50);
}

// Edge cases decided as curve25519-dalek decides them (the runtime's rule).
TEST(OnCurve, EdgeCasesFollowTheRuntime) {
  std::array<std::uint8_t, 32> y1{1};  // y = 1: x = 0, the identity
  EXPECT_TRUE(is_on_curve(y1));
  y1[31] = 0x80;  // sign bit on x = 0: dalek accepts it (negating 0 is 0)
  EXPECT_TRUE(is_on_curve(y1));
  // y = p + 1 is not canonical; it is read modulo p, as 1.
  auto p_plus_1 = bytes32("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
  EXPECT_TRUE(is_on_curve(p_plus_1));
  // The ed25519 base point (RFC 8032) is on the curve; y = 2 is not.
  EXPECT_TRUE(
      is_on_curve(bytes32("5866666666666666666666666666666666666666666666666666666666666666")));
  std::array<std::uint8_t, 32> y2{2};
  EXPECT_FALSE(is_on_curve(y2));
}

TEST(ProgramAddress, AssociatedTokenAccountsMatchOracle) {
  ASSERT_GE(vectors()["ata"].size(), 64u);
  bool saw_lower_bump = false;
  for (const auto& v : vectors()["ata"]) {
    const Pubkey wallet = *Pubkey::from_base58(v["wallet"].get<std::string>());
    const Pubkey mint = *Pubkey::from_base58(v["mint"].get<std::string>());
    const Pubkey program = *Pubkey::from_base58(v["token_program"].get<std::string>());
    EXPECT_EQ(associated_token_address(wallet, mint, program).to_base58(), v["ata"]);
    const std::array<std::span<const std::uint8_t>, 3> seeds{wallet.bytes, program.bytes,
                                                             mint.bytes};
    const auto found = find_program_address(seeds, kAssociatedTokenProgram);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->second, v["bump"].get<int>());
    saw_lower_bump |= found->second < 254;
  }
  EXPECT_TRUE(saw_lower_bump);  // the vectors exercise several on-curve rejections
}

TEST(ProgramAddress, StringSeedsMatchOracle) {
  for (const auto& v : vectors()["pda"]) {
    const std::string seed = v["seed"];
    const std::array<std::span<const std::uint8_t>, 1> seeds{
        std::span(reinterpret_cast<const std::uint8_t*>(seed.data()), seed.size())};
    const auto found =
        find_program_address(seeds, *Pubkey::from_base58(v["program"].get<std::string>()));
    ASSERT_TRUE(found);
    EXPECT_EQ(found->first.to_base58(), v["address"]);
    EXPECT_EQ(found->second, v["bump"].get<int>());
  }
}

}  // namespace
}  // namespace flotilla::chain
