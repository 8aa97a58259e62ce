#include "executor/proof_throughput_class.h"

namespace flotilla::proof {

double class_threshold_tflops(const GpuType& type, const ThroughputRule& rule) {
  return type.bf16_tflops * rule.achieved_fraction * (1.0 - rule.tolerance);
}

bool reaches_class(double measured_tflops, const GpuType& type, const ThroughputRule& rule) {
  return measured_tflops >= class_threshold_tflops(type, rule);
}

std::optional<GpuTypeId> fastest_class_reached(const GpuCatalog& catalog, double measured_tflops,
                                               const ThroughputRule& rule) {
  std::optional<GpuTypeId> best;
  for (GpuTypeId id = 0; id < catalog.size(); ++id) {
    const GpuType& type = catalog.at(id);
    if (!reaches_class(measured_tflops, type, rule)) continue;
    if (!best || type.bf16_tflops > catalog.at(*best).bf16_tflops) best = id;
  }
  return best;
}

}  // namespace flotilla::proof
