#include "scheduler/fragmentation.h"

#include <cstdio>

namespace flotilla {

std::string TaskShape::label() const {
  char buf[32];
  if (milli < 1000) {
    std::snprintf(buf, sizeof buf, "%.3g GPU", milli / 1000.0);
  } else {
    std::snprintf(buf, sizeof buf, "%u GPU%s", gpus, gpus == 1 ? "" : "s");
  }
  return buf;
}

double NodeCapacity::total_gpus() const {
  double total = free_gpus;
  for (std::uint16_t r : rooms) total += r / 1000.0;
  return total;
}

NodeCapacity node_capacity(const FleetState& state, std::uint32_t node) {
  const Node& n = state.fleet().nodes()[node];
  NodeCapacity c{.gpu_type = n.gpu_type, .free_gpus = state.free_gpus(node), .rooms = {}};
  const std::uint16_t free = state.free_mask(node);
  for (unsigned i = 0; i < n.gpu_count; ++i) {
    if (free & (1u << i)) continue;
    const std::uint16_t used = state.milli_used(n.first_gpu + i);
    if (used > 0 && used < 1000) c.rooms.push_back(static_cast<std::uint16_t>(1000 - used));
  }
  return c;
}

double node_fragment(const NodeCapacity& node, const TaskShape& shape) {
  const double total = node.total_gpus();
  if (shape.types.any() && !shape.types.test(node.gpu_type)) return total;
  double too_small = 0;  // partly-used GPUs this task cannot use
  bool fits = false;
  if (shape.milli < 1000) {
    fits = node.free_gpus > 0;
    for (std::uint16_t r : node.rooms) {
      if (r >= shape.milli) {
        fits = true;
      } else {
        too_small += r / 1000.0;
      }
    }
  } else {
    fits = node.free_gpus >= shape.gpus;
    for (std::uint16_t r : node.rooms) too_small += r / 1000.0;
  }
  return fits ? too_small : total;
}

double node_fragmentation(const NodeCapacity& node, std::span<const TaskShape> workload) {
  double sum = 0, weights = 0;
  for (const TaskShape& s : workload) {
    sum += s.weight * node_fragment(node, s);
    weights += s.weight;
  }
  return weights > 0 ? sum / weights : 0;
}

std::vector<FragmentationRow> fragmentation_report(const FleetState& state,
                                                   std::span<const TaskShape> shapes) {
  std::vector<FragmentationRow> rows;
  for (const TaskShape& s : shapes) rows.push_back({.shape = s.label()});
  const auto n = static_cast<std::uint32_t>(state.fleet().nodes().size());
  for (std::uint32_t node = 0; node < n; ++node) {
    if (!state.is_up(node)) continue;
    const NodeCapacity c = node_capacity(state, node);
    const double total = c.total_gpus();
    if (total == 0) continue;
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      rows[i].free_gpus += total;
      rows[i].unusable_gpus += node_fragment(c, shapes[i]);
    }
  }
  return rows;
}

std::vector<TaskShape> default_workload() {
  // An assumed mix, dominated by single-GPU work as GPU cluster traces are
  // (Philly's median job uses 1 GPU); replaced by the replayed trace's shapes.
  return {
      {.gpus = 1, .milli = 1000, .types = {}, .weight = 0.55},
      {.gpus = 2, .milli = 1000, .types = {}, .weight = 0.10},
      {.gpus = 4, .milli = 1000, .types = {}, .weight = 0.10},
      {.gpus = 8, .milli = 1000, .types = {}, .weight = 0.15},
      {.gpus = 1, .milli = 500, .types = {}, .weight = 0.10},
  };
}

}  // namespace flotilla
