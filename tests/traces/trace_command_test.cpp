// Runs the real `flotilla trace` command: stats --json on inline, real and
// synthetic traces, convert to HDF5 and back, and its errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/run_flotilla.h"
#include "tests/traces/trace_test_util.h"
#include "traces/sia_csv.h"

namespace {

using flotilla::testing::run_flotilla;
using flotilla::testing::TempDir;

nlohmann::json stats_json(const std::string& file) {
  const auto r = run_flotilla("trace stats '" + file + "' --json");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  return nlohmann::json::parse(r.out, nullptr, false);
}

const std::string kPods =
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,"
    "deletion_time,scheduled_time\n"
    "a,1,1,1,500,,LS,Running,100,3700,100\n"
    "b,1,1,4,1000,,LS,Running,200,7400,200\n"
    "c,1,1,0,0,,BE,Running,300,400,300\n";

TEST(TraceStats, JsonOnAnInlineTrace) {
  TempDir dir;
  const nlohmann::json j = stats_json(dir.write("pods.csv", kPods));
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["jobs"], 2);
  EXPECT_EQ(j["skipped_records"], 1);
  // 0.5 GPU x 1 h + 4 GPUs x 2 h.
  EXPECT_DOUBLE_EQ(j["gpu_hours"].get<double>(), 8.5);
  EXPECT_EQ(j["first_submit"], 100);
  EXPECT_EQ(j["last_submit"], 200);
  EXPECT_EQ(j["jobs_by_class"], nlohmann::json({{"unknown", 2}}));
  EXPECT_EQ(j["jobs_by_gpus"], nlohmann::json({{"share", 1}, {"4", 1}}));
}

TEST(TraceStats, RealPhilly) {
  const std::string path = flotilla::testing::shared_trace("philly-sia.csv");
  SKIP_UNLESS_EXISTS(path);
  const nlohmann::json j = stats_json(path);
  EXPECT_EQ(j["jobs"], 82'247);
  EXPECT_EQ(j["first_submit"], 0);
  EXPECT_EQ(j["last_submit"], 9'408'690);
  EXPECT_EQ(j["jobs_by_gpus"]["1"], 76'627);
  EXPECT_EQ(j["jobs_by_class"]["unknown"], 82'247);
  EXPECT_NEAR(j["mean_runtime_s"].get<double>(), 13'136, 1);
}

TEST(TraceStats, SyntheticIsDeterministic) {
  const nlohmann::json a = stats_json("synthetic:5000:3");
  const nlohmann::json b = stats_json("synthetic:5000:3");
  EXPECT_EQ(a["jobs"], 5000);
  EXPECT_EQ(a, b);
  EXPECT_GT(a["jobs_by_class"]["inference"].get<int>(), 0);
  EXPECT_EQ(a["origin"], "synthetic:5000:3");
}

TEST(TraceConvert, ToHdf5AndBackGivesTheSameStats) {
  TempDir dir;
  const std::string in = dir.write("pods.csv", kPods);
  const std::string out = dir.path("pods.h5");
  const auto r = run_flotilla("trace convert '" + in + "' '" + out + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "wrote 2 jobs to " + out + "\n");
  nlohmann::json from_csv = stats_json(in);
  nlohmann::json from_h5 = stats_json(out);
  EXPECT_EQ(from_h5["origin"], in);  // the store remembers where the trace came from
  EXPECT_EQ(from_csv, from_h5);

  const std::string syn = dir.path("syn.h5");
  ASSERT_EQ(run_flotilla("trace convert synthetic:2000:9 '" + syn + "'").exit_code, 0);
  EXPECT_EQ(stats_json(syn), stats_json("synthetic:2000:9"));
}

TEST(TraceCommand, Errors) {
  TempDir dir;
  const std::string bad = dir.write(
      "bad.csv", std::string(flotilla::kPhillyHeader) + "\n2017-10-09 07:01:55,66.0,x,66.0,c\n");
  auto r = run_flotilla("trace stats '" + bad + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, bad + ":2: num_gpus: expected an integer >= 1, got 'x'\n");
  EXPECT_EQ(r.out, "");

  r = run_flotilla("trace convert '" + bad + "' '" + dir.path("o.h5") + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_FALSE(std::filesystem::exists(dir.path("o.h5")));

  r = run_flotilla("trace stats synthetic:lots");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "synthetic:lots: expected synthetic:N[:SEED] with whole numbers\n");

  r = run_flotilla("trace frobnicate x");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("usage: flotilla trace convert IN OUT.h5"), std::string::npos);

  r = run_flotilla("trace --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("synthetic:N[:SEED]"), std::string::npos);
}

}  // namespace
