// The fragmentation experiment of the FGD paper (Weng et al., "Beware of
// Fragmentation", USENIX ATC'23, section 6; artifact
// github.com/hkust-adsl/kubernetes-scheduler-simulator): tasks sampled from a
// pod list arrive one at a time and never leave; each is placed by the policy
// at once or fails for good; the GPU allocation ratio (GPU capacity held by
// placed tasks / the fleet's GPUs) is tracked as the requested GPU capacity
// that has arrived grows to the cluster's capacity and, optionally, past it
// (the artifact inflates the workload to 130%).
//
// Differences from the paper, stated so the figures are read rightly: CPU and
// memory are not modelled (flotilla fleets are GPU fleets; the Alibaba reader
// drops CPU-only pods), so no node refuses a task for lack of CPU; a pod is
// one node, as in Kubernetes; GPU types are tried in the placer's type order.
//
// Pure functions of their inputs; deterministic for a seed (the placer keeps
// its own seed for its own choices). Not thread-safe only through the Placer,
// which the caller owns and must not share.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "scheduler/fleet.h"
#include "scheduler/fragmentation.h"
#include "scheduler/placer.h"
#include "scheduler/status.h"
#include "traces/trace.h"

namespace flotilla {

struct ArrivalOptions {
  std::uint64_t seed = 42;    // sampling of the pod list (the artifact's seeds are 42..51)
  double arrive_until = 1.0;  // stop once arrived requests reach this share of the fleet's GPUs
  double curve_step = 0.01;   // one curve point each time arrivals grow by this share
};

// One point of the allocation curve, both as shares of the fleet's GPUs.
struct ArrivalPoint {
  double arrived = 0;    // requested GPU capacity that has arrived so far
  double allocated = 0;  // GPU capacity held by the tasks placed so far
};

struct FragmentationRun {
  std::string policy;
  std::uint32_t total_gpus = 0;
  // At the point where the arrived requests first reach the fleet's capacity
  // (or at the end, when arrive_until < 1): tasks and GPU capacity, in GPUs.
  std::uint64_t arrived_tasks = 0, placed_tasks = 0, failed_tasks = 0;
  double arrived_gpus = 0;
  double allocated_gpus = 0;
  double allocation_ratio() const { return total_gpus > 0 ? allocated_gpus / total_gpus : 0; }
  double unallocated_gpus() const { return total_gpus - allocated_gpus; }
  // From the first arrival to arrive_until, every curve_step, and the last arrival.
  std::vector<ArrivalPoint> curve;
};

// GPU capacity a task asks for: its share of one GPU or its whole GPUs.
double requested_gpus(const PlacementRequest& shape);

// The trace's task-shape mix, one TaskShape per distinct (GPUs, share, types)
// weighted by how many jobs have it: the workload FGD measures fragmentation
// against (the paper uses the target workload's own distribution). Ordered
// by share, GPUs, then types, so equal traces give equal mixes.
std::vector<TaskShape> trace_workload(const Trace& trace);

// Runs the experiment: jobs of `pods` drawn uniformly with replacement,
// every one on one node, placed by `placer` on a fresh state of `fleet`.
// Errors: an empty fleet or pod list, arrive_until or curve_step not > 0.
Result<FragmentationRun> run_arrivals(const Fleet& fleet, const Trace& pods, Placer& placer,
                                      const ArrivalOptions& options = {});

}  // namespace flotilla
