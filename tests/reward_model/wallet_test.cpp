// Wallet addresses: base58 that must decode to exactly 32 bytes.
#include "reward_model/wallet.h"

#include <gtest/gtest.h>

namespace flotilla::rewards {
namespace {

TEST(RewardWallet, DecodesKnownAddresses) {
  // The System Program's id is 32 zero bytes.
  EXPECT_EQ(decode_wallet("11111111111111111111111111111111"), WalletKey{});
  // SPL Token program id (well-known): first bytes 06 dd f6 e1.
  const std::optional<WalletKey> token =
      decode_wallet("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
  ASSERT_TRUE(token);
  EXPECT_EQ((*token)[0], 0x06);
  EXPECT_EQ((*token)[1], 0xdd);
  EXPECT_EQ((*token)[2], 0xf6);
  EXPECT_EQ((*token)[3], 0xe1);
}

TEST(RewardWallet, RefusesWhatIsNotA32ByteKey) {
  EXPECT_FALSE(decode_wallet(""));
  EXPECT_FALSE(decode_wallet("0OIl"));                                          // not base58
  EXPECT_FALSE(decode_wallet("1111111111111111111111111111111"));               // 31 bytes
  EXPECT_FALSE(decode_wallet("111111111111111111111111111111111"));             // 33 bytes
  EXPECT_FALSE(decode_wallet("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5D"));    // too short
  EXPECT_FALSE(decode_wallet("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DAA"));  // too long
  EXPECT_FALSE(decode_wallet("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5D0"));   // bad digit
}

}  // namespace
}  // namespace flotilla::rewards
