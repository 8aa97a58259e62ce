// Policy TOML: the example parses, emission schedules in integers, and every
// policy whose numbers do not make sense is refused with its line.
#include "reward_model/policy.h"

#include <gtest/gtest.h>

namespace flotilla::rewards {
namespace {

constexpr const char* kPolicy = R"(
[epoch]
genesis = 1000
length_s = 3600
[emission]
schedule = "fixed"
amount = 100
[weights]
by = "gpu_type"
[weights.gpu_type]
H100-SXM = 989
[split]
work_bps = 8000
availability_bps = 2000
[payout]
min_payout = 1
)";

std::string with(std::string text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TEST(RewardPolicy, ExampleParses) {
  Result<Policy> p = read_policy(FLOTILLA_SOURCE_DIR "/examples/rewards/policy.toml");
  ASSERT_TRUE(p) << p.message();
  EXPECT_EQ(p->emission_of(0), 456621000000u);
  EXPECT_EQ(p->gpu_type_weights.at("RTX-4090"), 165u);
  EXPECT_EQ(p->cap_bps, 9000u);
  auto w = p->epoch_window(2);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->first, 1764201600 + 7200);
}

TEST(RewardPolicy, DecayingEmissionStepsDownExactly) {
  Result<Policy> p = read_policy(FLOTILLA_SOURCE_DIR "/examples/rewards/policy.toml");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->emission_of(729), 456621000000u);
  // 456621000000 * 989800 / 1000000 = 451963465800 exactly.
  EXPECT_EQ(p->emission_of(730), 451963465800u);
  EXPECT_EQ(p->emission_of(1460), 451963465800u * 989800 / 1000000);
  EXPECT_GT(p->emission_of(175318), 0u);
  EXPECT_EQ(p->emission_of(175319), 0u);
  // Twenty years of hours stay near io.net's 300M IO (REFERENCE.md): the sum
  // over all epochs, computed month by month.
  std::uint64_t total = 0;  // about 3 x 10^16 base units: no overflow
  for (std::uint64_t e = 0; e < 175319; e += 730) {
    total += p->emission_of(e) * std::min<std::uint64_t>(730, 175319 - e);
  }
  const std::uint64_t io = total / 100000000;
  EXPECT_GT(io, 290'000'000u);
  EXPECT_LT(io, 310'000'000u);
}

TEST(RewardPolicy, RefusesNonsenseWithItsLine) {
  struct Case {
    std::string from, to, message;
  };
  const Case cases[] = {
      {"amount = 100", "amount = -5", "p.toml:7: 'amount' must not be negative"},
      {"amount = 100", "amount = \"lots\"", "p.toml:7: 'amount' must be a whole number"},
      {"amount = 100", "amount = 99999999999999999999", "p.toml:7:"},
      {"H100-SXM = 989", "H100-SXM = 0", "p.toml:11: 'H100-SXM' must be between 1"},
      {"H100-SXM = 989", "H100-SXM = -3", "p.toml:11: 'H100-SXM' must not be negative"},
      {"availability_bps = 2000", "availability_bps = 3000",
       "p.toml:14: work_bps + availability_bps must be 10000"},
      {"length_s = 3600", "length_s = 0", "p.toml:4: 'length_s' must be between 1"},
      {"schedule = \"fixed\"", "schedule = \"sometimes\"", "p.toml:6: 'schedule' must be"},
      {"min_payout = 1", "min_payout = 1\nbonus = 2", "p.toml:17: unknown key 'bonus'"},
      {"by = \"gpu_type\"", "by = \"tflops\"", "p.toml:10: [weights.gpu_type] has no effect"},
  };
  for (const Case& c : cases) {
    Result<Policy> p = parse_policy(with(kPolicy, c.from, c.to), "p.toml");
    ASSERT_FALSE(p) << c.to;
    EXPECT_EQ(p.message().rfind(c.message, 0), 0u) << p.message();
  }
  EXPECT_TRUE(parse_policy(kPolicy, "p.toml"));
}

}  // namespace
}  // namespace flotilla::rewards
