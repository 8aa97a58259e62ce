#include "chain_settlement/base58.h"

#include <gtest/gtest.h>

#include "tests/chain_settlement/vectors.h"

namespace flotilla::chain {
namespace {

using testing::from_hex;
using testing::vectors;

TEST(Base58, MatchesOracleBothWays) {
  ASSERT_GE(vectors()["base58"].size(), 16u);
  for (const auto& v : vectors()["base58"]) {
    const auto bytes = from_hex(v["hex"].get<std::string>());
    const std::string text = v["base58"];
    EXPECT_EQ(base58_encode(bytes), text);
    const auto decoded = base58_decode(text);
    ASSERT_TRUE(decoded) << text;
    EXPECT_EQ(*decoded, bytes) << text;
  }
}

TEST(Base58, LeadingZerosBecomeOnes) {
  EXPECT_EQ(base58_encode(std::vector<std::uint8_t>(32, 0)), std::string(32, '1'));
  EXPECT_EQ(base58_decode("111")->size(), 3u);
}

TEST(Base58, RefusesCharactersOutsideTheAlphabet) {
  for (const char* bad : {"0", "O", "I", "l", "abc+", "\xc3\xa9", "2g "}) {
    EXPECT_FALSE(base58_decode(bad)) << bad;
  }
}

}  // namespace
}  // namespace flotilla::chain
