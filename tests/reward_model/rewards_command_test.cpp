// `flotilla rewards` end to end on the example epochs: compute, verify,
// explain, proof and check-proof; every bad input refused with one
// "FILE:LINE: reason" line, exit 1 and nothing written.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/run_flotilla.h"

namespace flotilla {
namespace {

namespace fs = std::filesystem;
using testing::run_flotilla;

const std::string kExamples = FLOTILLA_SOURCE_DIR "/examples/rewards/";

class RewardsCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("flotilla_rewards_cmd_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // A copy of an example file with one piece of text replaced.
  std::string edited(const std::string& example, const std::string& from, const std::string& to) {
    std::ifstream in(kExamples + example);
    std::stringstream text;
    text << in.rdbuf();
    std::string s = text.str();
    const std::size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) s.replace(at, from.size(), to);
    const std::string out = path("edited-" + example);
    std::ofstream(out) << s;
    return out;
  }

  std::string compute_args(std::uint64_t epoch, const std::string& meter,
                           const std::string& providers, const std::string& policy,
                           const std::string& out) const {
    return "rewards --epoch " + std::to_string(epoch) + " --meter '" + meter + "' --providers '" +
           providers + "' --policy '" + policy + "' -o '" + out + "'";
  }
  std::string example_args(std::uint64_t epoch, const std::string& out) const {
    const std::string e = std::to_string(epoch);
    return compute_args(epoch, kExamples + "meter-" + e + ".jsonl",
                        kExamples + "providers-" + e + ".csv", kExamples + "policy.toml", out);
  }

  fs::path dir_;
};

TEST_F(RewardsCommand, ComputeVerifyExplainProve) {
  const std::string s0 = path("epoch-0.json");
  auto r = run_flotilla(example_args(0, s0) + " --csv '" + path("epoch-0.csv") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("paid 422518109679 to 3 providers"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(path("epoch-0.csv")));
  // A rerun writes the same bytes and is harmless.
  EXPECT_EQ(run_flotilla(example_args(0, s0)).exit_code, 0);

  r = run_flotilla("rewards verify '" + s0 + "'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = run_flotilla("rewards verify '" + s0 + "' --meter '" + kExamples +
                   "meter-0.jsonl' --providers '" + kExamples + "providers-0.csv' --policy '" +
                   kExamples + "policy.toml'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("byte for byte"), std::string::npos);
  // The wrong epoch's inputs: verify names the file that differs.
  r = run_flotilla("rewards verify '" + s0 + "' --meter '" + kExamples +
                   "meter-1.jsonl' --providers '" + kExamples + "providers-0.csv' --policy '" +
                   kExamples + "policy.toml'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("meter-1.jsonl is not the file the statement was computed from"),
            std::string::npos)
      << r.err;

  r = run_flotilla("rewards explain '" + s0 + "' --provider home-4090-b");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* expect : {"penalty    1 records lost to provider faults, 1000 GPU-s -> -82500",
                             "paid       2286716372"}) {
    EXPECT_NE(r.out.find(expect), std::string::npos) << r.out;
  }
  r = run_flotilla("rewards explain '" + s0 + "' --provider home-3090");
  EXPECT_NE(r.out.find("carried to epoch 1: 431686995"), std::string::npos) << r.out;

  r = run_flotilla("rewards proof '" + s0 + "' --provider home-4090-b");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ofstream(path("proof.json")) << r.out;
  r = run_flotilla("rewards check-proof '" + path("proof.json") + "'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // A proof of a larger amount does not lead to the root.
  nlohmann::json proof = nlohmann::json::parse(std::ifstream(path("proof.json")));
  proof["amount"] = 2286716373u;
  std::ofstream(path("forged.json")) << proof.dump();
  r = run_flotilla("rewards check-proof '" + path("forged.json") + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("does not lead to root"), std::string::npos) << r.err;
  // Nothing to prove for a provider whose amount was carried.
  EXPECT_EQ(run_flotilla("rewards proof '" + s0 + "' --provider home-3090").exit_code, 1);
}

TEST_F(RewardsCommand, CarryFromThePreviousStatement) {
  const std::string s0 = path("epoch-0.json"), s1 = path("epoch-1.json");
  ASSERT_EQ(run_flotilla(example_args(0, s0)).exit_code, 0);
  auto r = run_flotilla(example_args(1, s1) + " --carry-from '" + s0 + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_flotilla("rewards explain '" + s1 + "' --provider home-3090");
  EXPECT_NE(r.out.find("+ carry in 431686995"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("carried to epoch 2: 0"), std::string::npos) << r.out;
  r = run_flotilla("rewards verify '" + s1 + "' --meter '" + kExamples +
                   "meter-1.jsonl' --providers '" + kExamples + "providers-1.csv' --policy '" +
                   kExamples + "policy.toml' --carry-from '" + s0 + "'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // Without the carry the statement of epoch 1 is different, and refused.
  r = run_flotilla(example_args(1, s1));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("already exists with different content"), std::string::npos) << r.err;
}

TEST_F(RewardsCommand, BadInputNamesFileAndLineAndWritesNothing) {
  const std::string meter = kExamples + "meter-0.jsonl", providers = kExamples + "providers-0.csv",
                    policy = kExamples + "policy.toml";
  struct Case {
    std::string meter, providers, policy;
    std::uint64_t epoch;
    std::string message;  // after "FILE:"
  };
  const std::string m = path("edited-meter-0.jsonl"), p = path("edited-providers-0.csv"),
                    t = path("edited-policy.toml");
  const std::vector<std::pair<std::function<void()>, Case>> cases = {
      {[&] { edited("meter-0.jsonl", "\"gpu_seconds\":1800", "\"gpu_seconds\":-1800"); },
       {m, providers, policy, 0, m + ":2: 'gpu_seconds' must not be negative"}},
      {[&] { edited("meter-0.jsonl", "\"gpus\":8", "\"gpus\":\"eight\""); },
       {m, providers, policy, 0, m + ":1: 'gpus' must be a whole number"}},
      {[&] { edited("meter-0.jsonl", "\"gpus\":8", "\"gpus\":99999999999999999999999"); },
       {m, providers, policy, 0, m + ":1:"}},
      {[&] { edited("meter-0.jsonl", "\"job_id\":\"1002\"", "\"job_id\":\"1003\""); },
       {m, providers, policy, 0,
        m + ":3: duplicate record for job 1003 on node home-a (first at line 2)"}},
      {[&] { edited("meter-0.jsonl", "\"provider\":\"home-3090\"", "\"provider\":\"nobody\""); },
       {m, providers, policy, 0, m + ":6: unknown provider 'nobody'"}},
      {[&] {}, {meter, providers, policy, 3, meter + ":1: job 1001 ran from"}},
      {[&] {
         edited("providers-0.csv", "nkwZDzNic66HZgnJdUQVYryktz7P6qHJaVtnSqX77G8",
                "nkwZDzNic66HZgnJdUQVYryktz7P6qHJaVtnSqX77G");
       },
       {meter, p, policy, 0, p + ":4: wallet 'nkwZDzNic66HZgnJdUQVYryktz7P6qHJaVtnSqX77G'"}},
      {[&] { edited("providers-0.csv", "RTX-3090,1,,600", "RTX-3090,1,,-600"); },
       {meter, p, policy, 0, p + ":6: online_s '-600'"}},
      {[&] { edited("policy.toml", "RTX-4090 = 165", "RTX-4090 = 0"); },
       {meter, providers, t, 0, t + ":20: 'RTX-4090' must be between 1"}},
      {[&] { edited("policy.toml", "work_bps = 7000", "work_bps = 7500"); },
       {meter, providers, t, 0, t + ":25: work_bps + availability_bps must be 10000"}},
  };
  for (const auto& [make, c] : cases) {
    make();
    const std::string out = path("statement.json");
    const auto r = run_flotilla(compute_args(c.epoch, c.meter, c.providers, c.policy, out));
    EXPECT_EQ(r.exit_code, 1) << c.message;
    EXPECT_EQ(r.err.rfind(c.message, 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(out)) << c.message;
  }
}

// Regression: a --csv path holding other content used to be refused only
// after the JSON statement had been written.
TEST_F(RewardsCommand, ACsvThatCannotBeWrittenStopsTheStatementToo) {
  const std::string csv = path("epoch-0.csv"), out = path("epoch-0.json");
  std::ofstream(csv) << "someone else's file\n";
  const auto r = run_flotilla(example_args(0, out) + " --csv '" + csv + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, csv +
                       ": already exists with different content; a statement once written is "
                       "never replaced\n");
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(RewardsCommand, UsageErrorsExitTwo) {
  EXPECT_EQ(run_flotilla("rewards").exit_code, 2);
  EXPECT_EQ(run_flotilla("rewards --epoch 0 -o x.json").exit_code, 2);
  EXPECT_EQ(run_flotilla("rewards explain").exit_code, 2);
  EXPECT_EQ(run_flotilla("rewards --epoch minus-one").exit_code, 2);
  EXPECT_EQ(run_flotilla("rewards --help").exit_code, 0);
}

}  // namespace
}  // namespace flotilla
