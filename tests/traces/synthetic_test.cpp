// The synthetic generator: determinism, the class mix, runtimes near the
// cited targets, the model-runtime formula, and speed.
#include "traces/synthetic.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace flotilla {
namespace {

bool same(const Trace& a, const Trace& b) {
  if (a.jobs.size() != b.jobs.size()) return false;
  for (std::size_t i = 0; i < a.jobs.size(); ++i) {
    const TraceJob& x = a.jobs[i];
    const TraceJob& y = b.jobs[i];
    if (x.submit != y.submit || x.workload != y.workload ||
        x.shape.total_gpus != y.shape.total_gpus ||
        x.work.reference_runtime != y.work.reference_runtime) {
      return false;
    }
  }
  return true;
}

TEST(SyntheticWorkload, SameSeedSameTraceOtherSeedOtherTrace) {
  const Trace a = synthetic_workload({.jobs = 20'000, .seed = 7});
  const Trace b = synthetic_workload({.jobs = 20'000, .seed = 7});
  const Trace c = synthetic_workload({.jobs = 20'000, .seed = 8});
  EXPECT_TRUE(same(a, b));
  EXPECT_FALSE(same(a, c));
  EXPECT_EQ(a.origin, "synthetic:20000:7");
}

TEST(SyntheticWorkload, PinnedValuesForSeedOne) {
  // Golden values: any change to the generator's draws shows up here.
  const Trace t = synthetic_workload({.jobs = 1000, .seed = 1});
  ASSERT_EQ(t.jobs.size(), 1000u);
  std::int64_t runtime_sum = 0;
  for (const TraceJob& j : t.jobs) runtime_sum += j.work.reference_runtime.count();
  EXPECT_EQ(runtime_sum, 10'282'868);
  EXPECT_EQ(t.jobs[0].id, 0u);
  EXPECT_EQ(t.jobs[0].submit, Seconds{0});
  EXPECT_EQ(t.jobs.back().submit, Seconds{120'830});
}

TEST(SyntheticWorkload, MixRateAndRuntimesLandOnTheirTargets) {
  const std::uint64_t n = 1'000'000;
  const Trace t = synthetic_workload({.jobs = n, .seed = 11});
  ASSERT_EQ(t.jobs.size(), n);
  std::array<std::uint64_t, kWorkloadClasses> count{};
  std::array<double, kWorkloadClasses> runtime{};
  std::uint64_t small_single = 0;
  for (std::size_t i = 0; i < t.jobs.size(); ++i) {
    const TraceJob& j = t.jobs[i];
    ASSERT_EQ(j.id, i);
    if (i > 0) {
      ASSERT_GE(j.submit, t.jobs[i - 1].submit);
    }
    const auto c = static_cast<std::size_t>(j.workload);
    ++count[c];
    runtime[c] += static_cast<double>(j.work.reference_runtime.count());
    ASSERT_GE(j.work.reference_runtime.count(), 1);
    ASSERT_GE(j.shape.total_gpus, 1u);
    const bool model_class =
        j.workload == WorkloadClass::kInference || j.workload == WorkloadClass::kLoraFinetune ||
        j.workload == WorkloadClass::kFullFinetune || j.workload == WorkloadClass::kPretraining;
    ASSERT_EQ(j.work.model.has_value(), model_class);
    if (model_class) {
      ASSERT_EQ(j.work.reference_runtime,
                model_reference_runtime(*j.work.model, j.shape.total_gpus));
      ASSERT_EQ(j.work.model->training, j.workload != WorkloadClass::kInference);
    }
    if (j.workload == WorkloadClass::kHpoSweep) {
      ASSERT_EQ(j.shape.total_gpus, 1u);
    }
    if (j.workload == WorkloadClass::kSmallTraining && j.shape.total_gpus == 1) ++small_single;
  }
  EXPECT_EQ(count[0], 0u);
  for (std::size_t c = 1; c < kWorkloadClasses; ++c) {
    const double share = static_cast<double>(count[c]) / static_cast<double>(n);
    EXPECT_NEAR(share, kDefaultWorkloadMix[c], 0.005)
        << workload_class_name(static_cast<WorkloadClass>(c));
  }
  // Small-model training follows Philly (Sia): mean 13,136 s, 93.2% single-GPU.
  const auto small = static_cast<std::size_t>(WorkloadClass::kSmallTraining);
  EXPECT_NEAR(runtime[small] / static_cast<double>(count[small]), 13'136, 13'136 * 0.1);
  EXPECT_NEAR(static_cast<double>(small_single) / static_cast<double>(count[small]),
              76'627.0 / 82'247.0, 0.005);
  // Arrivals: 31.5 jobs per hour by default.
  const double hours = static_cast<double>(t.jobs.back().submit.count()) / 3600.0;
  EXPECT_NEAR(static_cast<double>(n) / hours, 31.5, 31.5 * 0.02);
}

TEST(SyntheticWorkload, SpanAndCustomMix) {
  WorkloadMix only_sweeps{};
  only_sweeps[static_cast<std::size_t>(WorkloadClass::kHpoSweep)] = 1;
  const Trace t =
      synthetic_workload({.jobs = 1000, .span = Seconds{36'000}, .mix = only_sweeps, .seed = 2});
  ASSERT_EQ(t.jobs.size(), 1000u);
  std::size_t groups = 1;
  for (std::size_t i = 0; i < t.jobs.size(); ++i) {
    EXPECT_EQ(t.jobs[i].workload, WorkloadClass::kHpoSweep);
    if (i > 0 && t.jobs[i].submit != t.jobs[i - 1].submit) ++groups;
  }
  // Trials come together, 8-32 per sweep (about 20 on average).
  EXPECT_GT(groups, 1000u / 32);
  EXPECT_LT(groups, 1000u / 8 + 1);
  EXPECT_NEAR(static_cast<double>(t.jobs.back().submit.count()), 36'000, 36'000 * 0.1);
}

TEST(SyntheticWorkload, ModelRuntimeFormula) {
  // 7B parameters, 1e9 tokens, training: 6 x 7e9 x 1e9 / (989e12 x 0.4) / 8 GPUs.
  const ModelWork m{.params = 7e9, .tokens = 1e9, .training = true};
  EXPECT_EQ(model_reference_runtime(m, 8), Seconds{std::llround(4.2e19 / (989e12 * 0.4) / 8)});
  const ModelWork inf{.params = 7e9, .tokens = 1e9, .training = false};
  EXPECT_EQ(model_reference_runtime(inf, 1), Seconds{std::llround(1.4e19 / (989e12 * 0.4))});
  EXPECT_EQ(model_reference_runtime(ModelWork{.params = 1, .tokens = 1}, 1), Seconds{1});
}

}  // namespace
}  // namespace flotilla
