// A placement: which GPUs of which nodes a job holds. Returned by a Placer,
// applied to and released from a FleetState. Plain value.
#pragma once

#include <boost/container/small_vector.hpp>
#include <cstdint>

#include "scheduler/fleet.h"

namespace flotilla {

struct NodeAlloc {
  std::uint32_t node = 0;
  std::uint16_t gpu_mask = 0;  // bit i: GPU i of the node
  // Thousandths of the one GPU in gpu_mask; 1000 means whole GPUs.
  std::uint16_t milli = 1000;

  bool operator==(const NodeAlloc&) const = default;
};

struct Placement {
  // One entry per node, in placement order; most jobs use one node, which
  // then needs no heap allocation.
  boost::container::small_vector<NodeAlloc, 1> allocs;
  GpuTypeId gpu_type = 0;
  Level level = Level::kNode;  // lowest level whose one subtree holds every node
  bool exclusive = false;      // whole nodes, even GPUs the job did not ask for

  std::uint32_t gpus() const;  // whole GPUs held (a share counts as 0)
  bool operator==(const Placement&) const = default;
};

}  // namespace flotilla
