// The probe report's JSON: a full round trip, derived rates, and bad files.
#include "executor/probe_report.h"

#include <gtest/gtest.h>

namespace flotilla {
namespace {

ProbeReport sample() {
  ProbeReport r;
  r.host = "gpu-node-7";
  r.cuda_driver_version = 13000;
  r.cuda_runtime_version = 13000;
  r.nvml_driver_version = "580.65.06";
  for (int i = 0; i < 2; ++i) {
    ProbeGpu g;
    g.index = i;
    g.name = "NVIDIA H100 80GB HBM3";
    g.uuid = "GPU-0000000" + std::to_string(i);
    g.pci_bus_id = "00000000:1" + std::to_string(i) + ":00.0";
    g.memory_bytes = 85'520'809'984ULL;
    g.sm_count = 132;
    g.compute_capability_major = 9;
    g.max_sm_clock_mhz = 1980;
    g.max_memory_clock_mhz = 2619;
    g.pcie_generation = 5;
    g.pcie_width = 16;
    g.pcie_max_generation = 5;
    g.pcie_max_width = 16;
    g.nvlink_active_links = 18;
    r.gpus.push_back(g);
  }
  r.p2p = {{false, true}, {true, false}};
  ProbeMeasurement m;
  m.gpu = 0;
  m.gemm = {
      ProbeGemm{8192, ProbeTiming{2ULL * 8192 * 8192 * 8192, std::chrono::nanoseconds(1'377'000)}}};
  m.gemm_max_relative_error = 0.00195;
  m.device_copy = ProbeTiming{2ULL << 30, std::chrono::nanoseconds(716'000)};
  m.host_to_device = ProbeTiming{256ULL << 20, std::chrono::nanoseconds(5'000'000)};
  m.device_to_host = ProbeTiming{256ULL << 20, std::chrono::nanoseconds(5'100'000)};
  r.measurements.push_back(m);
  r.all_reduce = {ProbeAllReduce{1, 256ULL << 20, std::chrono::nanoseconds(100'000)},
                  ProbeAllReduce{2, 256ULL << 20, std::chrono::nanoseconds(2'000'000)}};
  return r;
}

TEST(ProbeReport, JsonRoundTripKeepsEveryField) {
  const ProbeReport r = sample();
  const nlohmann::json j = to_json(r);
  const Result<ProbeReport> back = parse_probe_report(j.dump(2), "probe.json");
  ASSERT_TRUE(back.is_ok()) << back.message();
  EXPECT_EQ(to_json(*back), j);  // every field, since to_json writes them all
  EXPECT_EQ(back->gpus[1].pci_bus_id, r.gpus[1].pci_bus_id);
  EXPECT_EQ(back->measurements[0].gemm[0].timing.median, r.measurements[0].gemm[0].timing.median);
}

TEST(ProbeReport, DerivedRates) {
  const ProbeReport r = sample();
  EXPECT_NEAR(r.measurements[0].best_gemm_tflops(), 798.5, 0.1);
  EXPECT_NEAR(r.measurements[0].device_copy.rate() / 1e9, 2999.2, 0.1);
  EXPECT_EQ(r.all_reduce[0].bus_bandwidth(), 0);  // one GPU moves nothing between GPUs
  // 2(n-1)/n = 1 for two GPUs: bus bandwidth = algorithm bandwidth.
  EXPECT_NEAR(r.all_reduce[1].bus_bandwidth(), (256ULL << 20) / 2e-3, 1);
  EXPECT_EQ(ProbeTiming{}.rate(), 0);
  EXPECT_NEAR(to_json(r)["measurements"][0]["gemm_bf16"][0]["tflops"].get<double>(), 798.5, 0.1);
}

TEST(ProbeReport, BadFilesGetOneClearError) {
  EXPECT_EQ(parse_probe_report("{not json", "p.json").message(), "p.json: not valid JSON");
  nlohmann::json j = to_json(sample());
  j["gpus"][1].erase("sm_count");
  EXPECT_EQ(probe_report_from_json(j, "p.json").message(),
            "p.json: gpus[1]: field 'sm_count': missing");
  j = to_json(sample());
  j["p2p"] = {{false}};
  EXPECT_NE(probe_report_from_json(j, "p.json").message().find("field 'p2p'"), std::string::npos);
  j = to_json(sample());
  j["measurements"][0]["device_copy"]["median_ns"] = -5;
  EXPECT_EQ(probe_report_from_json(j, "p.json").message(),
            "p.json: measurements[0]: device_copy: field 'median_ns': is negative");
  j = to_json(sample());
  j["gpus"][0]["compute_capability"] = {9};
  EXPECT_NE(probe_report_from_json(j, "p.json").message().find("[major, minor]"),
            std::string::npos);
}

}  // namespace
}  // namespace flotilla
