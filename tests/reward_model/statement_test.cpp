// The statement file: canonical bytes, round trip, immutability, the minimal
// contract settlement relies on, and tampering caught on read.
#include "reward_model/statement.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "reward_model/rewards.h"

namespace flotilla::rewards {
namespace {

namespace fs = std::filesystem;

const std::string kExamples = FLOTILLA_SOURCE_DIR "/examples/rewards/";

Statement example() {
  Result<Statement> s = statement_from_files(EpochFiles{.epoch = 0,
                                                        .meter = kExamples + "meter-0.jsonl",
                                                        .providers = kExamples + "providers-0.csv",
                                                        .policy = kExamples + "policy.toml",
                                                        .carry_from = std::nullopt});
  EXPECT_TRUE(s) << s.message();
  return s.value();
}

struct TempDir {
  fs::path path = fs::temp_directory_path() /
                  ("flotilla_statement_test_" +
                   std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  TempDir() {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void spit(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

TEST(RewardStatement, RoundTripsByteForByte) {
  TempDir dir;
  const Statement s = example();
  const fs::path file = dir.path / "epoch-0.json";
  ASSERT_TRUE(write_statement(file, s));
  Result<Statement> back = read_statement(file);
  ASSERT_TRUE(back) << back.message();
  EXPECT_EQ(*back, s);
  EXPECT_EQ(statement_json(*back), slurp(file));
  EXPECT_FALSE(fs::exists(dir.path / "epoch-0.json.tmp"));
}

TEST(RewardStatement, OnceWrittenIsImmutable) {
  TempDir dir;
  Statement s = example();
  const fs::path file = dir.path / "epoch-0.json";
  ASSERT_TRUE(write_statement(file, s));
  EXPECT_TRUE(write_statement(file, s));  // the same bytes again: a harmless rerun
  const std::string before = slurp(file);
  std::swap(s.payouts[0].amount, s.payouts[1].amount);
  s.accounts.clear();
  s.merkle_root = to_hex(merkle_root(payout_leaves(s).value()));
  Status again = write_statement(file, s);
  ASSERT_FALSE(again);
  EXPECT_NE(again.message().find("already exists with different content"), std::string::npos);
  EXPECT_EQ(slurp(file), before);
}

TEST(RewardStatement, MinimalContractReads) {
  TempDir dir;
  // What settlement relies on: epoch, emission, payouts, carry, merkle_root.
  Statement s;
  s.epoch = 3;
  s.emission = 100;
  s.payouts = {{"a", "11111111111111111111111111111111", 60}};
  s.carry = {{"b", 40}};
  s.merkle_root = to_hex(merkle_root(payout_leaves(s).value()));
  const std::string text =
      "{\"epoch\":3,\"emission\":100,\"payouts\":[{\"provider\":\"a\","
      "\"wallet\":\"11111111111111111111111111111111\",\"amount\":60}],"
      "\"carry\":[{\"provider\":\"b\",\"amount\":40}],\"merkle_root\":\"" +
      s.merkle_root + "\"}";
  spit(dir.path / "s.json", text);
  Result<Statement> back = read_statement(dir.path / "s.json");
  ASSERT_TRUE(back) << back.message();
  EXPECT_EQ(back->payouts, s.payouts);
  EXPECT_EQ(back->carry, s.carry);
}

TEST(RewardStatement, TamperingIsCaughtOnRead) {
  TempDir dir;
  const std::string good = statement_json(example());
  struct Case {
    std::string from, to, message;
  };
  const Case cases[] = {
      {"\"amount\":410958900000", "\"amount\":410958900001", "payouts + carry + unallocated"},
      {"\"amount\":410958900000", "\"amount\":-1", "payouts[0].amount: must be a whole number"},
      {"\"amount\":410958900000", "\"amount\":4.1e11", "payouts[0].amount: must be a whole number"},
      {"\"amount\":410958900000", "\"amount\":18446744073709551616",
       "payouts[0].amount: must be a whole number"},
      {"F8DJc7ZJKTNgR6GgCu9Dc3anGPSnrhrZwqw3iTW7A3jX\",\"amount",
       "F8DJc7ZJKTNgR6GgCu9Dc3anGPSnrhrZwqw3iTW7A3j\",\"amount", "does not match the payouts"},
      {"\"merkle_root\": \"", "\"merkle_root\": \"0", "merkle_root"},
      {"\"emission\": 456621000000", "\"emission\": 456621000001",
       "but emission + carry_in = 456621000001"},
  };
  for (const Case& c : cases) {
    std::string text = good;
    const std::size_t at = text.find(c.from);
    ASSERT_NE(at, std::string::npos) << c.from;
    text.replace(at, c.from.size(), c.to);
    spit(dir.path / "s.json", text);
    Result<Statement> s = read_statement(dir.path / "s.json");
    ASSERT_FALSE(s) << c.to;
    EXPECT_NE(s.message().find(c.message), std::string::npos) << s.message();
    EXPECT_EQ(s.message().rfind((dir.path / "s.json").string() + ": ", 0), 0u) << s.message();
  }
}

TEST(RewardStatement, CsvListsPaidAndCarried) {
  EXPECT_EQ(statement_csv(example()),
            "provider,wallet,amount,carry\n"
            "dc-h100,F8DJc7ZJKTNgR6GgCu9Dc3anGPSnrhrZwqw3iTW7A3jX,410958900000,0\n"
            "home-3090,,0,431686995\n"
            "home-4090-a,nkwZDzNic66HZgnJdUQVYryktz7P6qHJaVtnSqX77G8,9272493307,0\n"
            "home-4090-b,5rV3ZCFkaHu2vWF731a9S4vW918E6jfAePxtMLudKaSo,2286716372,0\n");
}

}  // namespace
}  // namespace flotilla::rewards
