// Provider registry CSV: reads the example; refuses bad rows with their line.
#include "reward_model/registry.h"

#include <gtest/gtest.h>

namespace flotilla::rewards {
namespace {

constexpr const char* kWallet = "11111111111111111111111111111111";

TEST(RewardRegistry, ExampleReads) {
  Result<Registry> r = read_registry(FLOTILLA_SOURCE_DIR "/examples/rewards/providers-0.csv");
  ASSERT_TRUE(r) << r.message();
  ASSERT_EQ(r->providers.size(), 4u);
  EXPECT_EQ(r->providers[0].id, "dc-h100");  // sorted
  ASSERT_NE(r->find("home-4090-b"), nullptr);
  EXPECT_EQ(r->find("home-4090-b")->online_s, 1800u);
  EXPECT_EQ(r->find("home-4090-b")->line, 5u);
  EXPECT_EQ(r->find("nobody"), nullptr);
}

TEST(RewardRegistry, TflopsAreExactThousandths) {
  Result<Registry> r =
      parse_registry(std::string("provider,wallet,gpu_type,gpus,tflops,online_s\na,") + kWallet +
                         ",RTX-4090,1,165.2,10\nb," + kWallet + ",H100-SXM,8,989,0\n",
                     "r.csv");
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->find("a")->milli_tflops, 165200u);
  EXPECT_EQ(r->find("b")->milli_tflops, 989000u);
}

TEST(RewardRegistry, RefusesBadRowsWithTheirLine) {
  const std::string head = "provider,wallet,gpu_type,gpus,tflops,online_s\n";
  const std::string ok = std::string("a,") + kWallet + ",T,1,,10\n";
  struct Case {
    std::string text, message;
  };
  const Case cases[] = {
      {"provider,wallet\n", "r.csv:1: expected the header"},
      {head + ok + "b,2NEpo7TZRRrLZSi2U,T,1,,10\n", "r.csv:3: wallet '2NEpo7TZRRrLZSi2U'"},
      {head + ok + "b,0000,T,1,,10\n", "r.csv:3: wallet '0000'"},
      {head + ok + "b," + kWallet + ",T,-1,,10\n", "r.csv:3: gpus '-1'"},
      {head + ok + "b," + kWallet + ",T,x,,10\n", "r.csv:3: gpus 'x'"},
      {head + ok + "b," + kWallet + ",T,1,,99999999999999999999\n", "r.csv:3: online_s"},
      {head + ok + "b," + kWallet + ",T,1,1.2345,10\n", "r.csv:3: tflops '1.2345'"},
      {head + ok + "b," + kWallet + ",T,1,,-4\n", "r.csv:3: online_s '-4'"},
      {head + ok + ok, "r.csv:3: provider a is registered twice (first at line 2)"},
      {head + ok + "b c," + kWallet + ",T,1,,10\n", "r.csv:3: provider id 'b c'"},
      {head + ok + "b," + kWallet + ",T,1,,10,extra\n", "r.csv:3: expected 6 fields"},
  };
  for (const Case& c : cases) {
    Result<Registry> r = parse_registry(c.text, "r.csv");
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.message().rfind(c.message, 0), 0u) << r.message();
  }
}

}  // namespace
}  // namespace flotilla::rewards
