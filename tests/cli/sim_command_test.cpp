// Runs the real `flotilla` binary (FLOTILLA_BINARY): `sim --catalog-from` with
// probe reports written by the test, and the one-line error and exit code on
// bad ones. The probe reports are fixtures, not measurements: no GPU here.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "executor/probe_report.h"
#include "tests/run_flotilla.h"
#include "tests/traces/trace_test_util.h"

namespace flotilla {
namespace {

using testing::run_flotilla;
using testing::TempDir;

const std::string kFleet = std::string(FLOTILLA_SOURCE_DIR) + "/examples/fleets/8xH100.toml";
// Small enough to run in a moment; it holds model jobs on H100s.
const std::string kRun = "sim --fleet '" + kFleet + "' --trace synthetic:40 ";

// A fixture report of two GPUs named `cuda_name`: each "times" an 8192^3 BF16
// GEMM at `tflops` and a device copy at `copy_gbs`; both all-reduce at 300 GB/s.
ProbeReport fixture(const std::string& cuda_name, double tflops, double copy_gbs) {
  ProbeReport r;
  r.host = "fixture";
  r.cuda_driver_version = r.cuda_runtime_version = 13000;
  r.nvml_driver_version = "fixture";
  r.p2p = {{false, true}, {true, false}};
  const std::uint64_t flops = 2ULL * 8192 * 8192 * 8192;
  const std::uint64_t copied = 2ULL << 30;
  for (int i = 0; i < 2; ++i) {
    ProbeGpu g;
    g.index = i;
    g.name = cuda_name;
    r.gpus.push_back(g);
    ProbeMeasurement m;
    m.gpu = i;
    m.gemm = {ProbeGemm{8192, ProbeTiming{flops, std::chrono::nanoseconds(static_cast<std::int64_t>(
                                                     static_cast<double>(flops) / tflops / 1e3))}}};
    m.device_copy = ProbeTiming{copied, std::chrono::nanoseconds(static_cast<std::int64_t>(
                                            static_cast<double>(copied) / copy_gbs))};
    r.measurements.push_back(m);
  }
  // Bus bandwidth = bytes / time for two GPUs (2(n-1)/n = 1).
  r.all_reduce = {ProbeAllReduce{2, 300'000'000, std::chrono::nanoseconds(1'000'000)}};
  return r;
}

std::string write_report(const TempDir& dir, const std::string& name, const ProbeReport& r) {
  return dir.write(name, to_json(r).dump(2));
}

TEST(SimCatalogFrom, JsonSaysWhatWasCalibratedAndKeepsTheFleetSummary) {
  TempDir dir;
  const std::string probe =
      write_report(dir, "probe.json", fixture("NVIDIA H100 80GB HBM3", 600, 2500));
  const testing::CommandOutcome plain = run_flotilla(kRun + "--json");
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const testing::CommandOutcome r = run_flotilla(kRun + "--catalog-from '" + probe + "' --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json before = nlohmann::json::parse(plain.out);
  const nlohmann::json after = nlohmann::json::parse(r.out);
  EXPECT_FALSE(before.contains("calibration"));

  ASSERT_EQ(after["calibration"].size(), 1u);
  const nlohmann::json& c = after["calibration"][0];
  EXPECT_EQ(c["gpu_type"], "H100-SXM");
  EXPECT_EQ(c["probes"], nlohmann::json::array({probe}));
  EXPECT_EQ(c["gpus"], 2);
  EXPECT_NEAR(c["gemm_tflops"].get<double>(), 600, 0.01);
  EXPECT_NEAR(c["catalog_gemm_tflops"].get<double>(), 989 * 0.80, 1e-9);
  EXPECT_NEAR(c["copy_gbs"].get<double>(), 2500, 0.01);
  EXPECT_NEAR(c["intra_node_gbs"].get<double>(), 300, 1e-9);
  EXPECT_EQ(c["catalog_intra_node_gbs"], 900);
  EXPECT_NEAR(c["bf16_tflops"].get<double>(), 600 / 0.80, 0.02);

  // The summary per fleet keeps exactly its fields.
  ASSERT_EQ(after["fleets"].size(), before["fleets"].size());
  for (std::size_t i = 0; i < before["fleets"].size(); ++i) {
    std::vector<std::string> a, b;
    for (const auto& [k, v] : before["fleets"][i].items()) a.push_back(k);
    for (const auto& [k, v] : after["fleets"][i].items()) b.push_back(k);
    EXPECT_EQ(a, b);
  }
  // A slower H100 than the catalog's runs the H100 fleet's model jobs longer.
  EXPECT_GT(after["fleets"][0]["mean_jct_s"].get<double>(),
            before["fleets"][0]["mean_jct_s"].get<double>());
}

TEST(SimCatalogFrom, TextSaysWhatWasCalibratedBeforeTheTable) {
  TempDir dir;
  const std::string h100 =
      write_report(dir, "h100.json", fixture("NVIDIA H100 80GB HBM3", 600, 2500));
  ProbeReport one = fixture("NVIDIA GeForce RTX 4090", 150, 900);
  one.all_reduce.clear();
  const std::string rtx = write_report(dir, "4090.json", one);
  const testing::CommandOutcome r =
      run_flotilla(kRun + "--catalog-from '" + h100 + "' --catalog-from '" + rtx + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("catalog calibrated from " + h100 +
                            ": H100-SXM (2 GPUs) BF16 GEMM 600.0 TFLOP/s (catalog 791.2), copy "
                            "2500 GB/s (catalog 3015), intra-node 300 GB/s all-reduce bus "
                            "(catalog 900)\n"
                            "catalog calibrated from " +
                            rtx +
                            ": RTX4090 (2 GPUs) BF16 GEMM 150.0 TFLOP/s (catalog 132.2), copy "
                            "900 GB/s (catalog 907), intra-node not measured (catalog 32 GB/s "
                            "kept)\n"
                            "workload synthetic",
                        0),
            0u)
      << r.out;
}

// One line "FILE: what" on stderr, nothing on stdout, exit 1.
void expect_refused(const std::string& args, const std::string& line) {
  const testing::CommandOutcome r = run_flotilla(kRun + args);
  EXPECT_EQ(r.exit_code, 1) << args;
  EXPECT_EQ(r.err, line + "\n");
  EXPECT_EQ(r.out, "");
}

TEST(SimCatalogFrom, BadProbeFilesAreOneLineAndExitOne) {
  TempDir dir;
  const std::string missing = dir.path("missing.json");
  expect_refused("--catalog-from '" + missing + "'", missing + ": cannot open probe report");

  const std::string garbled = dir.write("garbled.json", "{\"host\": ");
  expect_refused("--catalog-from '" + garbled + "'", garbled + ": not valid JSON");

  const std::string b200 = write_report(dir, "b200.json", fixture("NVIDIA B200", 1500, 7000));
  expect_refused("--catalog-from '" + b200 + "'",
                 b200 +
                     ": GPU 0 'NVIDIA B200': no catalog GPU type has this CUDA name (cuda_names "
                     "in scheduler/gpu_catalog.toml)");

  ProbeReport bare = fixture("NVIDIA H100 80GB HBM3", 600, 2500);
  bare.measurements.clear();
  bare.all_reduce.clear();
  const std::string none = write_report(dir, "none.json", bare);
  // Also after a good file: every file is checked.
  const std::string good =
      write_report(dir, "good.json", fixture("NVIDIA H100 80GB HBM3", 600, 2500));
  expect_refused("--catalog-from '" + good + "' --catalog-from '" + none + "'",
                 none + ": no GPU measurements");

  ProbeReport stray = fixture("NVIDIA H100 80GB HBM3", 600, 2500);
  stray.measurements[1].gpu = 5;
  const std::string five = write_report(dir, "five.json", stray);
  expect_refused("--catalog-from '" + five + "'",
                 five + ": measurements[1]: GPU 5 is not in 'gpus'");
}

TEST(SimCatalogFrom, RefusedBesideASweep) {
  const std::string sweep =
      std::string(FLOTILLA_SOURCE_DIR) + "/examples/sweeps/fleet-vs-policy.toml";
  const testing::CommandOutcome r =
      run_flotilla("sim --sweep '" + sweep + "' --catalog-from probe.json");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "flotilla sim: --catalog-from does not apply with --sweep (sweeps run on the built-in "
            "catalog)\n");
}

// Failure rates per GPU type, and the requeue limit that keeps a job the
// failures never let finish from running for ever.
TEST(SimFailures, MtbfPerGpuTypeHitsOnlyThatType) {
  const std::string dc = std::string(FLOTILLA_SOURCE_DIR) + "/examples/fleets/800xRTX4090-dc.toml";
  auto failed = [&](const std::string& mtbf) {
    const testing::CommandOutcome r = run_flotilla("sim --fleet '" + dc +
                                                   "' --trace synthetic:400 --max-requeues 0 "
                                                   "--gpu-mtbf-hours " +
                                                   mtbf + " --json");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out)["fleets"][0]["failed"].get<std::uint64_t>();
  };
  EXPECT_GT(failed("RTX4090=200"), 0u);    // the fleet's own GPUs fail
  EXPECT_EQ(failed("200,RTX4090=0"), 0u);  // every type but the one it has
  EXPECT_EQ(failed("H100-SXM=200"), 0u);   // a type it does not have
}

TEST(SimFailures, BadMtbfIsOneLine) {
  auto refused = [](const std::string& mtbf, const std::string& line) {
    const testing::CommandOutcome r = run_flotilla("sim --gpu-mtbf-hours '" + mtbf + "'");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err, "flotilla sim: --gpu-mtbf-hours: " + line + "\n");
    EXPECT_EQ(r.out, "");
  };
  refused("RTX9090=10", "unknown GPU type 'RTX9090'");
  refused("RTX4090=ten", "'RTX4090=ten' is not [TYPE=]HOURS with HOURS >= 0");
  refused("-5", "'-5' is not [TYPE=]HOURS with HOURS >= 0");
  refused("100,", "'' is not [TYPE=]HOURS with HOURS >= 0");
}

}  // namespace
}  // namespace flotilla
