#include "chain_settlement/keypair.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/chain_settlement/vectors.h"

namespace flotilla::chain {
namespace {

using testing::from_hex;
using testing::to_hex;
using testing::vectors;

class KeypairFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("flotilla_keypair_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path write(const std::string& name, const std::string& text, mode_t mode) {
    const auto path = dir_ / name;
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }
  std::filesystem::path dir_;
};

Keypair vector_key(std::size_t i) {
  const auto seed = from_hex(vectors()["keypairs"][i]["seed"].get<std::string>());
  return Keypair::from_seed(std::span<const std::uint8_t, 32>(seed.data(), 32));
}

TEST(Keypair, SeedsAndSignaturesMatchOracle) {
  ASSERT_GE(vectors()["keypairs"].size(), 4u);
  for (std::size_t i = 0; i < vectors()["keypairs"].size(); ++i) {
    const auto& v = vectors()["keypairs"][i];
    const Keypair k = vector_key(i);
    EXPECT_EQ(k.pubkey().to_base58(), v["pubkey"]);
    const auto message = from_hex(v["message"].get<std::string>());
    const Signature sig = k.sign(message);
    EXPECT_EQ(to_hex(sig), v["signature"]);
    EXPECT_TRUE(verify_signature(k.pubkey(), message, sig));
    auto tampered = message;
    tampered[0] ^= 1;
    EXPECT_FALSE(verify_signature(k.pubkey(), tampered, sig));
  }
}

TEST_F(KeypairFile, SavedFileIsPrivateAndLoadsBack) {
  const Keypair k = vector_key(0);
  const auto path = dir_ / "id.json";
  ASSERT_TRUE(k.save(path).is_ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const auto loaded = Keypair::load(path);
  ASSERT_TRUE(loaded) << loaded.message();
  EXPECT_EQ(loaded->pubkey(), k.pubkey());
}

TEST_F(KeypairFile, RefusesFilesOthersCanRead) {
  const Keypair k = vector_key(1);
  const auto path = dir_ / "id.json";
  ASSERT_TRUE(k.save(path).is_ok());
  for (mode_t mode : {0644, 0640, 0604, 0660}) {
    ::chmod(path.c_str(), mode);
    const auto loaded = Keypair::load(path);
    ASSERT_FALSE(loaded) << std::oct << mode;
    EXPECT_NE(loaded.message().find("accessible by group or others"), std::string::npos);
    EXPECT_NE(loaded.message().find("chmod 600"), std::string::npos);
  }
  ::chmod(path.c_str(), 0400);
  EXPECT_TRUE(Keypair::load(path));
}

TEST_F(KeypairFile, RefusesMalformedFiles) {
  EXPECT_FALSE(Keypair::load(dir_ / "missing.json"));
  EXPECT_FALSE(Keypair::load(write("short.json", "[1,2,3]", 0600)));
  EXPECT_FALSE(Keypair::load(write("text.json", "not json", 0600)));
  std::string too_big = "[256";
  for (int i = 1; i < 64; ++i) too_big += ",0";
  const auto big = Keypair::load(write("big.json", too_big + "]", 0600));
  ASSERT_FALSE(big);
  EXPECT_NE(big.message().find("entry 0 is not a byte"), std::string::npos);
  // A valid seed with someone else's public half.
  std::string mismatched = "[";
  for (int i = 0; i < 64; ++i) mismatched += (i ? "," : "") + std::to_string(i < 32 ? 7 : 9);
  const auto bad = Keypair::load(write("mismatch.json", mismatched + "]", 0600));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.message().find("does not match"), std::string::npos);
}

}  // namespace
}  // namespace flotilla::chain
