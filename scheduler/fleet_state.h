// FleetState: which GPUs of a Fleet are free right now, with the indexes that
// let a Placer answer "where does this request fit?" without scanning the
// fleet. It takes placements and gives them back; it never decides anything.
// One FleetState per scheduler (the live controller or one simulation run);
// not thread-safe, the Fleet it reads must outlive it.
//
// Indexes, all updated in O(levels) per node touched:
// - node classes: nodes with the same (GPU type, GPU count); requests filter
//   classes, not nodes;
// - buckets: for each class and free-GPU count, the up nodes with exactly that
//   many whole free GPUs (best fit on one node is the first non-empty bucket);
// - histograms: for each switch and each class present there, how many up
//   nodes have f whole free GPUs (f = 0..16), so "can this switch hold N nodes
//   with g free GPUs" is a 17-entry suffix sum; sites, regions and the fleet
//   add up their switches (the buckets already sum the whole fleet);
// - shared GPUs: GPUs partly held by fractional requests, per class.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "scheduler/fleet.h"
#include "scheduler/placement.h"

namespace flotilla {

constexpr unsigned kFreeSlots = kMaxGpusPerNode + 1;  // free counts 0..16

struct NodeClass {
  GpuTypeId gpu_type = 0;
  std::uint8_t gpu_count = 0;
};

class FleetState {
 public:
  explicit FleetState(const Fleet& fleet);

  const Fleet& fleet() const { return *fleet_; }
  std::span<const NodeClass> classes() const { return classes_; }
  std::uint16_t class_of(std::uint32_t node) const { return nodes_[node].cls; }
  // Classes whose GPUs are of type `t` (empty if the fleet has none).
  std::span<const std::uint16_t> classes_of_type(GpuTypeId t) const { return type_classes_[t]; }

  // --- The state of one node or GPU.
  std::uint16_t free_mask(std::uint32_t node) const { return nodes_[node].free_mask; }
  unsigned free_gpus(std::uint32_t node) const;
  bool is_up(std::uint32_t node) const { return nodes_[node].up != 0; }
  // Thousandths of GPU `gpu` (fleet-wide index) held by fractional requests.
  std::uint16_t milli_used(std::uint32_t gpu) const { return milli_used_[gpu]; }
  // No GPU of the node held in any way (whole or shared): usable exclusively.
  bool is_idle(std::uint32_t node) const;

  // --- Indexes for placers.
  // Up nodes of class `cls` with exactly `f` whole free GPUs, in no fixed order.
  std::span<const std::uint32_t> bucket(std::uint16_t cls, unsigned f) const {
    return buckets_[cls * kFreeSlots + f];
  }
  // Bit f set: bucket(cls, f) is not empty.
  std::uint32_t bucket_mask(std::uint16_t cls) const { return bucket_mask_[cls]; }
  // Switches that hold nodes of class `cls`, in fleet order, with the
  // histogram slot of (switch, class) for histogram().
  struct SwitchSlot {
    std::uint32_t switch_id;
    std::uint32_t slot;
  };
  std::span<const SwitchSlot> switches_with_class(std::uint16_t cls) const {
    return class_switches_[cls];
  }
  // Up nodes with exactly f whole free GPUs, f = 0..16, in one (switch, class) slot.
  std::span<const std::uint32_t, kFreeSlots> histogram(std::uint32_t slot) const {
    return std::span<const std::uint32_t, kFreeSlots>(&hist_[std::size_t{slot} * kFreeSlots],
                                                      kFreeSlots);
  }
  // Whole free GPUs in one (switch, class) slot: the histogram's weighted sum.
  std::uint32_t free_gpus_in(std::uint32_t slot) const { return slot_free_[slot]; }
  // GPUs of class `cls` that are partly held by fractional requests.
  std::span<const std::uint32_t> shared_gpus(std::uint16_t cls) const { return shared_[cls]; }

  // --- Changes.
  // Takes what `p` names; every GPU in it must be free (or, for a share, have
  // room). Checked: a violation is a scheduler bug and throws std::logic_error.
  void take(const Placement& p);
  // Gives back exactly what take(p) took.
  void give_back(const Placement& p);
  // A down node offers nothing; GPUs held on it stay held until given back.
  void set_up(std::uint32_t node, bool up);

  // Totals over up nodes.
  std::uint64_t free_whole_gpus() const { return free_whole_; }
  // Whole free GPUs of type `t` on up nodes.
  std::uint64_t free_whole_gpus(GpuTypeId t) const { return free_by_type_[t]; }
  // Bytes of per-node and per-GPU state plus indexes, for the memory budget.
  std::size_t memory_bytes() const;

 private:
  // What take/give_back touch of one node, kept in one cache line's quarter:
  // at 800,000 GPUs every update is a cache miss, so it should be one.
  struct NodeRecord {
    std::uint16_t free_mask;
    std::uint16_t cls;
    std::uint8_t up;
    std::uint8_t gpu_count;
    std::uint32_t bucket_pos;   // index inside its bucket
    std::uint32_t switch_slot;  // histogram slot of (its switch, its class)
  };

  void index_node(std::uint32_t node, int delta);  // add (+1) or remove (-1) from indexes
  void set_mask(std::uint32_t node, std::uint16_t mask);
  void share_changed(std::uint32_t node, std::uint32_t gpu, std::uint16_t old_milli);

  const Fleet* fleet_;
  std::vector<NodeClass> classes_;
  std::vector<std::vector<std::uint16_t>> type_classes_;  // per catalog type
  std::vector<NodeRecord> nodes_;
  std::vector<std::uint16_t> milli_used_;  // per GPU
  std::vector<std::vector<std::uint32_t>> buckets_;
  std::vector<std::uint32_t> bucket_mask_;                       // per class
  std::vector<std::uint32_t> hist_;                              // per (switch, class) slot
  std::vector<std::uint32_t> slot_free_;                         // per slot: whole free GPUs
  std::vector<std::vector<SwitchSlot>> class_switches_;          // per class
  std::vector<std::vector<std::uint32_t>> shared_;               // per class
  std::unordered_map<std::uint32_t, std::uint32_t> shared_pos_;  // gpu -> index in shared_
  std::uint64_t free_whole_ = 0;
  std::vector<std::uint64_t> free_by_type_;  // per catalog type
};

}  // namespace flotilla
