// Turns a measured BF16 GEMM throughput into the GPU classes of the catalog
// (scheduler/gpu_catalog.toml) that it earns. The catalog holds datasheet peaks;
// real GEMMs reach a fraction of them, so a class is earned at
//   peak x achieved_fraction x (1 - tolerance).
// Defaults: cuBLAS BF16 8192^3 GEMMs reach 798 TFLOP/s on an H100 SXM (81% of
// 989) and 769-798 on an H200 (../shared/docs/REFERENCE.md), hence 0.80; the
// 15% tolerance absorbs clock and power-limit spread and the proof's own
// generation and hashing. 0.80 x 0.85 = 0.68 of peak: an H100 SXM needs 672
// TFLOP/s, which an H100 PCIe (756 peak, 605 expected) cannot reach.
#pragma once

#include <optional>

#include "scheduler/gpu_catalog.h"

namespace flotilla::proof {

struct ThroughputRule {
  double achieved_fraction = 0.80;
  double tolerance = 0.15;
};

// The TFLOP/s a card must reach to be verified as `type`.
double class_threshold_tflops(const GpuType& type, const ThroughputRule& rule);

bool reaches_class(double measured_tflops, const GpuType& type, const ThroughputRule& rule);

// The catalog class with the highest threshold that `measured_tflops` reaches;
// nothing when it reaches none.
std::optional<GpuTypeId> fastest_class_reached(const GpuCatalog& catalog, double measured_tflops,
                                               const ThroughputRule& rule);

}  // namespace flotilla::proof
