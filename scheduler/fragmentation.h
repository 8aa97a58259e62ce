// Fragmentation: free GPU capacity that requests of a given shape cannot use.
// The measure follows FGD (Weng et al., USENIX ATC'23): for a task shape m and
// a node, the fragment is the node's free capacity the task could not use:
// everything when the task does not fit the node at all (wrong type, too few
// whole GPUs, no GPU with room for its share), otherwise the partly-used GPUs
// that are too small for it. Weighted over a workload's shapes it is the
// quantity FGD's placement tries to grow least. Pure functions of the state.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "scheduler/fleet_state.h"

namespace flotilla {

// One kind of task in a workload, with how often it appears.
struct TaskShape {
  std::uint32_t gpus = 1;      // whole GPUs on one node (ignored for a share)
  std::uint16_t milli = 1000;  // < 1000: a share of one GPU
  GpuTypeSet types;            // acceptable types; empty: any
  double weight = 1;           // relative frequency

  std::string label() const;  // "1 GPU", "8 GPUs", "0.25 GPU"
};

// A node's free capacity as fragmentation sees it.
struct NodeCapacity {
  GpuTypeId gpu_type = 0;
  unsigned free_gpus = 0;            // whole free GPUs
  std::vector<std::uint16_t> rooms;  // room (thousandths) on each partly-used GPU

  double total_gpus() const;  // free + rooms, in GPUs
};

NodeCapacity node_capacity(const FleetState& state, std::uint32_t node);

// Free capacity of the node (in GPUs) that a task of `shape` cannot use.
double node_fragment(const NodeCapacity& node, const TaskShape& shape);
// Weighted mean of node_fragment over the workload's shapes.
double node_fragmentation(const NodeCapacity& node, std::span<const TaskShape> workload);

struct FragmentationRow {
  std::string shape;
  double free_gpus = 0;      // free capacity of up nodes, in GPUs
  double unusable_gpus = 0;  // the part no task of this shape could use
};

// One row per shape, over all up nodes.
std::vector<FragmentationRow> fragmentation_report(const FleetState& state,
                                                   std::span<const TaskShape> shapes);

// A workload mix used when nothing better is known; the simulator replaces it
// with the shapes of the trace it replays.
std::vector<TaskShape> default_workload();

}  // namespace flotilla
