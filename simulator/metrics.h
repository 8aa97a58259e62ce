// What a planner reads off a simulation: the summary per fleet (the fields of
// `flotilla sim --json`) and the same figures per workload class. Pure
// functions of a SimResult.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "simulator/simulation.h"

namespace flotilla {

struct Summary {
  std::uint64_t jobs = 0, completed = 0, rejected = 0, failed = 0;
  double makespan_s = 0;                                // first submit to last end
  double mean_jct_s = 0, p50_jct_s = 0, p99_jct_s = 0;  // job completion time: end - submit
  double mean_wait_s = 0;                               // start - submit
  // mean of max(1, (wait + run) / max(run, 10 s)), the usual bounded slowdown
  double bounded_slowdown = 0;
  double utilization = 0;  // GPU-seconds held / (fleet GPUs x makespan)
  double cost_usd = 0;
  double energy_kwh = 0;
  std::map<std::string, std::uint64_t> rejections;  // reason -> jobs
};

Summary summarize(const SimResult& result);
// The summary of the jobs of one workload class (utilization over the fleet).
std::array<Summary, kWorkloadClasses> summarize_by_class(const SimResult& result);

}  // namespace flotilla
