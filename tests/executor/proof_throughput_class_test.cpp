// Measured TFLOP/s onto the catalog's classes.
#include "executor/proof_throughput_class.h"

#include <gtest/gtest.h>

namespace flotilla::proof {
namespace {

const GpuType& type(const char* name) {
  const GpuCatalog& c = GpuCatalog::builtin();
  return c.at(*c.find(name));
}

TEST(ThroughputClass, ThresholdIsPeakTimesAchievedFractionLessTolerance) {
  EXPECT_NEAR(class_threshold_tflops(type("H100-SXM"), {}), 989 * 0.80 * 0.85, 1e-9);
  EXPECT_NEAR(class_threshold_tflops(type("RTX4090"), {.achieved_fraction = 0.5, .tolerance = 0}),
              82.6, 1e-9);
}

TEST(ThroughputClass, MeasuredFiguresFromReferenceEarnTheirClass) {
  // REFERENCE.md: cuBLAS BF16 8192^3 reaches 798 TFLOP/s on an H100 and 769
  // on an H200 at its worst.
  EXPECT_TRUE(reaches_class(798, type("H100-SXM"), {}));
  EXPECT_TRUE(reaches_class(769, type("H200"), {}));
  EXPECT_FALSE(reaches_class(605, type("H100-SXM"), {}));
}

TEST(ThroughputClass, FastestClassReached) {
  const GpuCatalog& c = GpuCatalog::builtin();
  EXPECT_FALSE(fastest_class_reached(c, 1.0, {}).has_value());
  const auto a100 = fastest_class_reached(c, 230, {});
  ASSERT_TRUE(a100.has_value());
  EXPECT_EQ(c.at(*a100).name, "A100-SXM-80GB");
  const auto rtx = fastest_class_reached(c, 120, {});
  ASSERT_TRUE(rtx.has_value());
  EXPECT_EQ(c.at(*rtx).name, "RTX4090");
  const auto top = fastest_class_reached(c, 900, {});
  ASSERT_TRUE(top.has_value());
  EXPECT_EQ(c.at(*top).bf16_tflops, 989);
}

}  // namespace
}  // namespace flotilla::proof
