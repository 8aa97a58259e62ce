// `flotilla place` end to end: example job scripts on the example fleets.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tests/run_flotilla.h"

namespace {

using flotilla::testing::run_flotilla;

const std::string kSource = FLOTILLA_SOURCE_DIR;

std::string fleet(const std::string& name) {
  return "--fleet '" + kSource + "/examples/fleets/" + name + ".toml'";
}
std::string job(const std::string& name) {
  return "'" + kSource + "/examples/jobs/" + name + ".sbatch'";
}

TEST(PlaceCommand, JobsLandWhereTheFleetCanHoldThem) {
  const auto r = run_flotilla("place --json " + fleet("8xH100") + " " + fleet("800xRTX4090-dc") +
                              " " + job("finetune-1gpu") + " " + job("nvlink-8xh100") + " " +
                              job("multinode-32gpu"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json out = nlohmann::json::parse(r.out);
  ASSERT_EQ(out["fleets"].size(), 2u);

  // One HGX box: the 1-GPU job takes one H100, so the exclusive 8-GPU job
  // must wait; the 32-H100 job can never run on 8 GPUs.
  const nlohmann::json& hgx = out["fleets"][0]["jobs"];
  EXPECT_EQ(hgx[0]["gpu_type"], "H100-SXM");
  EXPECT_EQ(hgx[0]["gpus"], 1);
  EXPECT_EQ(hgx[0]["level"], "node");
  EXPECT_EQ(hgx[1]["placed"], false);
  EXPECT_EQ(hgx[1]["fits_idle_fleet"], true);
  EXPECT_EQ(hgx[2]["placed"], false);
  EXPECT_EQ(hgx[2]["fits_idle_fleet"], false);

  // 100 eight-card 4090 boxes: the LoRA job takes one 4090 at $0.29/h; the
  // others ask for H100s or H200s, which this fleet does not have.
  const nlohmann::json& dc = out["fleets"][1]["jobs"];
  EXPECT_EQ(dc[0]["gpu_type"], "RTX4090");
  EXPECT_DOUBLE_EQ(dc[0]["usd_per_hour"].get<double>(), 0.29);
  EXPECT_EQ(dc[1]["fits_idle_fleet"], false);
  EXPECT_EQ(dc[2]["fits_idle_fleet"], false);
  EXPECT_EQ(out["fleets"][1]["free_gpus"], 799);
}

TEST(PlaceCommand, MultiNodeJobStaysUnderOneSwitch) {
  const auto r =
      run_flotilla("place --json " + fleet("ionet-scale") + " " + job("multinode-32gpu"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out)["fleets"][0]["jobs"][0];
  EXPECT_EQ(j["gpu_type"], "H100-SXM");
  EXPECT_EQ(j["gpus"], 32);
  EXPECT_EQ(j["nodes"].size(), 4u);
  EXPECT_EQ(j["level"], "switch");
}

TEST(PlaceCommand, BadInputIsOneLineAndExitCodeOne) {
  auto r = run_flotilla("place " + fleet("8xH100") + " '" + kSource + "/README.md'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("README.md"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;

  r = run_flotilla("place --fleet /nonexistent.toml " + job("finetune-1gpu"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "/nonexistent.toml: cannot open fleet file\n");

  r = run_flotilla("place --policy worst-fit " + fleet("8xH100") + " " + job("finetune-1gpu"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown placement policy 'worst-fit'"), std::string::npos) << r.err;
}

}  // namespace
