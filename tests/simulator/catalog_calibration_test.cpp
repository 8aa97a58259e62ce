// Tests of simulator/catalog_calibration.cpp: what a probe measured becomes the
// figures the performance model runs at, in the direction and by the ratio the
// model gives, and bad probes are refused with one line naming the file.
// Every "measured" number below is a test fixture, not a measurement.
#include "simulator/catalog_calibration.h"

#include <gtest/gtest.h>

#include "simulator/metrics.h"
#include "simulator/simulation.h"
#include "tests/scheduler/test_fleets.h"

namespace flotilla {
namespace {

using testing::add_nodes;
using testing::built;
using testing::node_of;
using testing::type_id;

constexpr const char* kH100 = "NVIDIA H100 80GB HBM3";

const PerfModel& model() {
  return PerfModel::builtin();
}

// What the uncalibrated catalog and model expect a probe to measure on `type`.
double catalog_gemm(const char* type) {
  return GpuCatalog::builtin().at(type_id(type)).bf16_tflops *
         model().constants().gemm_fraction_of_peak;
}
double catalog_copy(const char* type) {
  return GpuCatalog::builtin().at(type_id(type)).mem_bw_gbs *
         model().constants().inference.mem_bw_efficiency;
}

ProbedHost host(const std::string& origin, std::vector<ProbedGpu> gpus) {
  return ProbedHost{.origin = origin, .gpus = std::move(gpus), .all_reduce = std::nullopt};
}

ProbedGpu h100(int index, double gemm_tflops, double copy_gbs) {
  return ProbedGpu{
      .index = index, .cuda_name = kH100, .gemm_tflops = gemm_tflops, .copy_gbs = copy_gbs};
}

CatalogCalibration calibrated(const std::vector<ProbedHost>& hosts) {
  Result<CatalogCalibration> c = calibrate_catalog(model(), hosts);
  EXPECT_TRUE(c.is_ok()) << c.message();
  return std::move(c).value();
}

std::string refused(const std::vector<ProbedHost>& hosts) {
  Result<CatalogCalibration> c = calibrate_catalog(model(), hosts);
  EXPECT_FALSE(c.is_ok());
  return c.message();
}

// One node with one H100 on `catalog`: jobs run one after another, so the
// makespan is the sum of their runtimes.
Fleet one_h100(const GpuCatalog& catalog) {
  FleetBuilder b("one-h100", catalog);
  b.add_region("r", Link{100, 1});
  b.add_site("s", Link{100, 1});
  b.add_switch("w", Link{100, 1});
  add_nodes(b, "n", 1, node_of("H100-SXM", 1));
  return built(b);
}

TraceJob one_gpu_job(std::uint64_t id, WorkloadClass cls) {
  TraceJob j;
  j.id = id;
  j.shape = PlacementRequest{.nodes = 1, .gpus_per_node = 1, .total_gpus = 1};
  j.workload = cls;
  j.work.reference_gpu = type_id("H100-SXM");
  j.work.reference_runtime = Seconds{1000};
  return j;
}

// Pre-training a 1B model on one GPU: 6N FLOPs a token against the weights
// read three times a micro-batch of 2048 tokens, so compute-bound by more than
// 10x at catalog figures and at every calibration used below.
Trace compute_bound_trace() {
  Trace t;
  t.origin = "compute-bound";
  for (std::uint64_t i = 0; i < 3; ++i) {
    TraceJob j = one_gpu_job(i, WorkloadClass::kPretraining);
    j.work.model = ModelWork{.params = 1e9, .tokens = 2048.0 * 100'000, .seq_len = 2048};
    t.jobs.push_back(j);
  }
  return t;
}

double makespan(const Fleet& fleet, const Trace& trace, const PerfModel& m) {
  Result<SimResult> r = simulate(fleet, trace, m, SimOptions{});
  EXPECT_TRUE(r.is_ok()) << r.message();
  const Summary s = summarize(*r);
  EXPECT_EQ(s.completed, trace.jobs.size());
  return s.makespan_s;
}

// The model's compute time is FLOPs / (bf16_tflops x MFU); calibration sets
// bf16_tflops = measured GEMM / gemm_fraction_of_peak, so a compute-bound
// makespan scales by catalog GEMM / measured GEMM.
TEST(CatalogCalibration, ComputeBoundMakespanFollowsTheMeasuredGemm) {
  const Trace trace = compute_bound_trace();
  const double base = makespan(one_h100(GpuCatalog::builtin()), trace, model());
  for (double share : {0.75, 1.25}) {  // a slower, then a faster H100 than the catalog's
    SCOPED_TRACE(share);
    const double gemm = share * catalog_gemm("H100-SXM");
    const CatalogCalibration c =
        calibrated({host("p.json", {h100(0, gemm, catalog_copy("H100-SXM"))})});
    const PerfModel m = model().on_catalog(c.catalog);
    const double t = makespan(one_h100(c.catalog), trace, m);
    if (share < 1) {
      EXPECT_GT(t, base);
    } else {
      EXPECT_LT(t, base);
    }
    // Runtimes are whole seconds: about 3,100 s each here, so 1e-3 covers rounding.
    EXPECT_NEAR(t / base, catalog_gemm("H100-SXM") / gemm, 1e-3);
  }
}

TEST(CatalogCalibration, SetsPeaksSoTheModelsSharesGiveWhatWasMeasured) {
  const CatalogCalibration c = calibrated({host("p.json", {h100(0, 600, 2500)})});
  const PerfConstants& k = model().constants();
  const GpuType& g = c.catalog.at(type_id("H100-SXM"));
  EXPECT_DOUBLE_EQ(g.bf16_tflops * k.gemm_fraction_of_peak, 600);
  EXPECT_DOUBLE_EQ(g.mem_bw_gbs * k.inference.mem_bw_efficiency, 2500);
  EXPECT_EQ(g.intra_node_gbs, GpuCatalog::builtin().at(type_id("H100-SXM")).intra_node_gbs);
  EXPECT_EQ(g.name, "H100-SXM");
  EXPECT_EQ(g.source.rfind("calibrated from p.json (flotilla probe); catalog: NVIDIA H100", 0), 0u)
      << g.source;

  ASSERT_EQ(c.types.size(), 1u);
  const TypeCalibration& t = c.types[0];
  EXPECT_EQ(t.type, type_id("H100-SXM"));
  EXPECT_EQ(t.origins, std::vector<std::string>{"p.json"});
  EXPECT_EQ(t.gpus, 1u);
  EXPECT_EQ(t.gemm_tflops, 600);
  EXPECT_DOUBLE_EQ(t.catalog_gemm_tflops, catalog_gemm("H100-SXM"));
  EXPECT_EQ(t.copy_gbs, 2500);
  EXPECT_DOUBLE_EQ(t.catalog_copy_gbs, catalog_copy("H100-SXM"));
  EXPECT_FALSE(t.intra_node_gbs);

  // Types no probe measured keep every figure.
  const GpuType& rtx = c.catalog.at(type_id("RTX4090"));
  const GpuType& rtx_before = GpuCatalog::builtin().at(type_id("RTX4090"));
  EXPECT_EQ(rtx.bf16_tflops, rtx_before.bf16_tflops);
  EXPECT_EQ(rtx.mem_bw_gbs, rtx_before.mem_bw_gbs);
  EXPECT_EQ(rtx.source, rtx_before.source);
}

TEST(CatalogCalibration, AProbeThatMeasuresWhatTheCatalogExpectsChangesNothing) {
  const CatalogCalibration c =
      calibrated({host("p.json", {h100(0, catalog_gemm("H100-SXM"), catalog_copy("H100-SXM"))})});
  const GpuType& before = GpuCatalog::builtin().at(type_id("H100-SXM"));
  const GpuType& after = c.catalog.at(type_id("H100-SXM"));
  EXPECT_DOUBLE_EQ(after.bf16_tflops, before.bf16_tflops);
  EXPECT_DOUBLE_EQ(after.mem_bw_gbs, before.mem_bw_gbs);
}

// A trace job's reference runtime was measured on the trace's own GPU at
// catalog figures; only the GPU it now runs on is calibrated. With compute
// share c of its class: time = c x catalog/measured GEMM + (1 - c) x
// catalog/measured copy.
TEST(CatalogCalibration, TraceJobsScaleByTheirClassMix) {
  Trace trace;
  trace.origin = "one";
  trace.jobs = {one_gpu_job(0, WorkloadClass::kInference)};
  EXPECT_EQ(makespan(one_h100(GpuCatalog::builtin()), trace, model()), 1000);

  const double c =
      model().constants().classes[static_cast<int>(WorkloadClass::kInference)].compute_fraction;
  const CatalogCalibration cal = calibrated(
      {host("p.json", {h100(0, catalog_gemm("H100-SXM") / 2, catalog_copy("H100-SXM") / 4)})});
  const PerfModel m = model().on_catalog(cal.catalog);
  EXPECT_NEAR(makespan(one_h100(cal.catalog), trace, m), 1000 * (c * 2 + (1 - c) * 4), 1);
  // Relative speed is against the reference GPU at its catalog figures.
  EXPECT_NEAR(m.relative_speed(WorkloadClass::kInference, type_id("H100-SXM")),
              1 / (c * 2 + (1 - c) * 4), 1e-12);
}

TEST(CatalogCalibration, MediansRunOverEveryGpuOfTheTypeInEveryFile) {
  const CatalogCalibration c =
      calibrated({host("a.json", {h100(0, 700, 3000), h100(1, 900, 2000), h100(2, 800, 2600)}),
                  host("b.json", {h100(0, 100, 2900)})});
  ASSERT_EQ(c.types.size(), 1u);
  EXPECT_EQ(c.types[0].origins, (std::vector<std::string>{"a.json", "b.json"}));
  EXPECT_EQ(c.types[0].gpus, 4u);
  EXPECT_EQ(c.types[0].gemm_tflops, 750);  // 100 700 | 800 900
  EXPECT_EQ(c.types[0].copy_gbs, 2750);    // 2000 2600 | 2900 3000
}

TEST(CatalogCalibration, SeveralTypesFromSeveralFiles) {
  const CatalogCalibration c =
      calibrated({host("h100.json", {h100(0, 700, 2800)}),
                  host("4090.json", {ProbedGpu{.index = 0,
                                               .cuda_name = "NVIDIA GeForce RTX 4090",
                                               .gemm_tflops = 150,
                                               .copy_gbs = 900}})});
  ASSERT_EQ(c.types.size(), 2u);  // catalog order
  EXPECT_EQ(c.types[0].type, type_id("H100-SXM"));
  EXPECT_EQ(c.types[1].type, type_id("RTX4090"));
  EXPECT_EQ(c.types[1].origins, std::vector<std::string>{"4090.json"});
  EXPECT_DOUBLE_EQ(c.catalog.at(type_id("RTX4090")).bf16_tflops,
                   150 / model().constants().gemm_fraction_of_peak);
}

TEST(CatalogCalibration, AllReduceOfOneTypeSetsItsIntraNodeLink) {
  ProbedHost same = host("a.json", {h100(0, 700, 2800), h100(1, 700, 2800)});
  same.all_reduce = ProbedAllReduce{.cuda_names = {kH100, kH100}, .bus_gbs = 380};
  const CatalogCalibration c = calibrated({same});
  EXPECT_EQ(c.catalog.at(type_id("H100-SXM")).intra_node_gbs, 380);
  ASSERT_TRUE(c.types[0].intra_node_gbs);
  EXPECT_EQ(*c.types[0].intra_node_gbs, 380);
  EXPECT_EQ(c.types[0].catalog_intra_node_gbs, 900);

  // Across two types the ring runs at the slowest link, which is no one
  // type's: the catalog's links stay.
  ProbedHost mixed = host("b.json", {h100(0, 700, 2800)});
  mixed.all_reduce = ProbedAllReduce{.cuda_names = {kH100, "NVIDIA H100 PCIe"}, .bus_gbs = 50};
  const CatalogCalibration m = calibrated({mixed});
  EXPECT_EQ(m.catalog.at(type_id("H100-SXM")).intra_node_gbs, 900);
  EXPECT_FALSE(m.types[0].intra_node_gbs);
}

TEST(CatalogCalibration, BadProbesAreOneLineNamingTheFile) {
  EXPECT_EQ(refused({host("p.json", {ProbedGpu{.index = 1,
                                               .cuda_name = "NVIDIA B200",
                                               .gemm_tflops = 1500,
                                               .copy_gbs = 7000}})}),
            "p.json: GPU 1 'NVIDIA B200': no catalog GPU type has this CUDA name (cuda_names in "
            "scheduler/gpu_catalog.toml)");
  EXPECT_EQ(refused({host("p.json", {h100(0, 700, 2800)}), host("empty.json", {})}),
            "empty.json: no GPU measurements");
  EXPECT_EQ(refused({host("p.json", {h100(3, 0, 2800)})}),
            "p.json: GPU 3 'NVIDIA H100 80GB HBM3': no BF16 GEMM was timed");
  EXPECT_EQ(refused({host("p.json", {h100(0, 700, 0)})}),
            "p.json: GPU 0 'NVIDIA H100 80GB HBM3': no device copy was timed");
  ProbedHost untimed = host("p.json", {h100(0, 700, 2800)});
  untimed.all_reduce = ProbedAllReduce{.cuda_names = {kH100, kH100}, .bus_gbs = 0};
  EXPECT_EQ(refused({untimed}), "p.json: the all-reduce over 2 GPUs was not timed");
}

}  // namespace
}  // namespace flotilla
