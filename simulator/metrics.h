// What a planner reads off a simulation: the summary per fleet (the fields of
// `flotilla sim --json`) and the same figures per workload class. Pure
// functions of a SimResult.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

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

// The summary's scalar fields by name, in the order every output lists them
// (--json, results.h5, sweep tables and the MPI wire format).
inline constexpr std::array<std::pair<const char*, std::uint64_t Summary::*>, 4> kSummaryCounts{
    {{"jobs", &Summary::jobs},
     {"completed", &Summary::completed},
     {"rejected", &Summary::rejected},
     {"failed", &Summary::failed}}};
inline constexpr std::array<std::pair<const char*, double Summary::*>, 9> kSummaryFigures{
    {{"makespan_s", &Summary::makespan_s},
     {"mean_jct_s", &Summary::mean_jct_s},
     {"p50_jct_s", &Summary::p50_jct_s},
     {"p99_jct_s", &Summary::p99_jct_s},
     {"mean_wait_s", &Summary::mean_wait_s},
     {"bounded_slowdown", &Summary::bounded_slowdown},
     {"utilization", &Summary::utilization},
     {"cost_usd", &Summary::cost_usd},
     {"energy_kwh", &Summary::energy_kwh}}};

Summary summarize(const SimResult& result);
// Every field, rejections included, as one JSON object (`flotilla sim --json`).
nlohmann::json summary_json(const Summary& summary);
// The summary of the jobs of one workload class (utilization over the fleet).
std::array<Summary, kWorkloadClasses> summarize_by_class(const SimResult& result);

}  // namespace flotilla
