#include "simulator/fragmentation_experiment.h"

#include <cmath>
#include <map>
#include <random>
#include <tuple>

#include "scheduler/fleet_state.h"

namespace flotilla {
namespace {

// Requested capacity in thousandths of a GPU, so sums are exact.
std::uint64_t requested_milli(const PlacementRequest& shape) {
  return shape.gpu_milli < 1000 ? shape.gpu_milli : std::uint64_t{shape.total_gpus} * 1000;
}

}  // namespace

double requested_gpus(const PlacementRequest& shape) {
  return static_cast<double>(requested_milli(shape)) / 1000.0;
}

std::vector<TaskShape> trace_workload(const Trace& trace) {
  using Key = std::tuple<std::uint16_t, std::uint32_t, unsigned long long>;
  std::map<Key, std::uint64_t> counts;
  for (const TraceJob& j : trace.jobs) {
    const std::uint32_t gpus = j.shape.gpu_milli < 1000 ? 1 : j.shape.total_gpus;
    ++counts[{j.shape.gpu_milli, gpus, j.shape.types.to_ullong()}];
  }
  std::vector<TaskShape> shapes;
  shapes.reserve(counts.size());
  for (const auto& [key, count] : counts) {
    const auto& [milli, gpus, types] = key;
    shapes.push_back({.gpus = gpus,
                      .milli = milli,
                      .types = GpuTypeSet(types),
                      .weight = static_cast<double>(count)});
  }
  return shapes;
}

Result<FragmentationRun> run_arrivals(const Fleet& fleet, const Trace& pods, Placer& placer,
                                      const ArrivalOptions& options) {
  if (fleet.total_gpus() == 0) return Status::error("fragmentation run: the fleet has no GPUs");
  if (pods.jobs.empty()) return Status::error("fragmentation run: the pod list has no GPU tasks");
  if (!(options.arrive_until > 0) || !(options.curve_step > 0)) {
    return Status::error("fragmentation run: arrive_until and curve_step must be > 0");
  }
  const std::uint64_t total_milli = std::uint64_t{fleet.total_gpus()} * 1000;
  const auto until_milli = static_cast<std::uint64_t>(
      std::llround(options.arrive_until * static_cast<double>(total_milli)));
  const std::uint64_t step_milli = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(
             std::llround(options.curve_step * static_cast<double>(total_milli))));

  FleetState state(fleet);
  FragmentationRun run{.policy = std::string(placer.name()), .total_gpus = fleet.total_gpus()};
  std::mt19937_64 rng(options.seed);
  std::uint64_t arrived = 0, allocated = 0, tasks = 0, placed = 0;
  std::uint64_t next_mark = 0;
  bool at_capacity = false;
  auto share = [&](std::uint64_t milli) {
    return static_cast<double>(milli) / static_cast<double>(total_milli);
  };
  auto snapshot = [&] {
    run.arrived_tasks = tasks;
    run.placed_tasks = placed;
    run.failed_tasks = tasks - placed;
    run.arrived_gpus = static_cast<double>(arrived) / 1000.0;
    run.allocated_gpus = static_cast<double>(allocated) / 1000.0;
    at_capacity = true;
  };

  while (arrived < until_milli) {
    // rng() % n, not a distribution: the same draws with every standard library.
    // A pod runs on one node: whole GPUs all there, a share on one GPU.
    PlacementRequest request = pods.jobs[rng() % pods.jobs.size()].shape;
    request.nodes = 1;
    if (request.gpu_milli == 1000) request.gpus_per_node = request.total_gpus;
    request.max_switches.reset();

    const std::uint64_t want = requested_milli(request);
    arrived += want;
    ++tasks;
    if (std::optional<Placement> p = placer.choose(state, request)) {
      state.take(*p);
      allocated += want;
      ++placed;
    }
    if (!at_capacity && arrived >= total_milli) snapshot();
    if (arrived >= next_mark) {
      run.curve.push_back({share(arrived), share(allocated)});
      next_mark = (arrived / step_milli + 1) * step_milli;
    }
  }
  if (run.curve.empty() || run.curve.back().arrived != share(arrived)) {
    run.curve.push_back({share(arrived), share(allocated)});
  }
  if (!at_capacity) snapshot();
  return run;
}

}  // namespace flotilla
