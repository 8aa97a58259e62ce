#include "scheduler/fleet_state.h"

#include <bit>
#include <map>
#include <stdexcept>
#include <string>

namespace flotilla {
namespace {

std::uint16_t all_gpus(unsigned count) {
  return static_cast<std::uint16_t>((1u << count) - 1);
}

}  // namespace

std::uint32_t Placement::gpus() const {
  std::uint32_t n = 0;
  for (const NodeAlloc& a : allocs) {
    if (a.milli == 1000) n += static_cast<std::uint32_t>(std::popcount(a.gpu_mask));
  }
  return n;
}

FleetState::FleetState(const Fleet& fleet) : fleet_(&fleet) {
  const auto nodes = fleet.nodes();
  const std::size_t n = nodes.size();
  std::map<std::pair<GpuTypeId, std::uint8_t>, std::uint16_t> class_ids;
  nodes_.resize(n);
  milli_used_.assign(fleet.total_gpus(), 0);
  for (std::uint32_t i = 0; i < n; ++i) {
    auto key = std::pair{nodes[i].gpu_type, nodes[i].gpu_count};
    auto [it, added] = class_ids.emplace(key, static_cast<std::uint16_t>(classes_.size()));
    if (added) classes_.push_back(NodeClass{.gpu_type = key.first, .gpu_count = key.second});
    nodes_[i] = NodeRecord{.free_mask = all_gpus(nodes[i].gpu_count),
                           .cls = it->second,
                           .up = 1,
                           .gpu_count = nodes[i].gpu_count,
                           .bucket_pos = 0,
                           .switch_slot = 0};
  }
  type_classes_.resize(fleet.catalog().size());
  free_by_type_.assign(fleet.catalog().size(), 0);
  for (std::uint16_t c = 0; c < classes_.size(); ++c) {
    type_classes_[classes_[c].gpu_type].push_back(c);
  }
  buckets_.resize(classes_.size() * kFreeSlots);
  bucket_mask_.assign(classes_.size(), 0);
  shared_.resize(classes_.size());

  // Nodes are laid out switch by switch, so (switch, class) slots are numbered
  // in fleet order and each class's switch list comes out sorted.
  class_switches_.resize(classes_.size());
  std::map<std::pair<std::uint32_t, std::uint16_t>, std::uint32_t> slot_ids;
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::uint32_t sw = nodes[i].switch_id;
    auto [it, added] =
        slot_ids.emplace(std::pair{sw, nodes_[i].cls}, static_cast<std::uint32_t>(slot_ids.size()));
    if (added) class_switches_[nodes_[i].cls].push_back({sw, it->second});
    nodes_[i].switch_slot = it->second;
  }
  hist_.assign(slot_ids.size() * kFreeSlots, 0);
  slot_free_.assign(slot_ids.size(), 0);
  for (std::uint32_t i = 0; i < n; ++i) index_node(i, +1);
}

unsigned FleetState::free_gpus(std::uint32_t node) const {
  return static_cast<unsigned>(std::popcount(nodes_[node].free_mask));
}

bool FleetState::is_idle(std::uint32_t node) const {
  return nodes_[node].free_mask == all_gpus(nodes_[node].gpu_count);
}

void FleetState::index_node(std::uint32_t node, int delta) {
  NodeRecord& r = nodes_[node];
  const unsigned f = static_cast<unsigned>(std::popcount(r.free_mask));
  hist_[std::size_t{r.switch_slot} * kFreeSlots + f] += static_cast<std::uint32_t>(delta);
  slot_free_[r.switch_slot] += static_cast<std::uint32_t>(delta * static_cast<int>(f));
  free_whole_ += static_cast<std::uint64_t>(delta) * f;
  free_by_type_[classes_[r.cls].gpu_type] += static_cast<std::uint64_t>(delta) * f;
  if (f == 0) return;  // no placer looks for nodes without a free GPU
  std::vector<std::uint32_t>& b = buckets_[r.cls * kFreeSlots + f];
  if (delta > 0) {
    r.bucket_pos = static_cast<std::uint32_t>(b.size());
    b.push_back(node);
    bucket_mask_[r.cls] |= 1u << f;
  } else {
    const std::uint32_t pos = r.bucket_pos;
    b[pos] = b.back();
    nodes_[b[pos]].bucket_pos = pos;
    b.pop_back();
    if (b.empty()) bucket_mask_[r.cls] &= ~(1u << f);
  }
}

void FleetState::set_mask(std::uint32_t node, std::uint16_t mask) {
  const bool up = nodes_[node].up != 0;
  if (up) index_node(node, -1);
  nodes_[node].free_mask = mask;
  if (up) index_node(node, +1);
}

void FleetState::share_changed(std::uint32_t node, std::uint32_t gpu, std::uint16_t old_milli) {
  const std::uint16_t now = milli_used_[gpu];
  const bool was_listed = old_milli > 0 && old_milli < 1000;
  const bool listed = now > 0 && now < 1000;
  if (was_listed == listed) return;
  std::vector<std::uint32_t>& list = shared_[nodes_[node].cls];
  if (listed) {
    shared_pos_[gpu] = static_cast<std::uint32_t>(list.size());
    list.push_back(gpu);
  } else {
    auto it = shared_pos_.find(gpu);
    const std::uint32_t pos = it->second;
    shared_pos_.erase(it);
    list[pos] = list.back();
    if (list[pos] != gpu) shared_pos_[list[pos]] = pos;
    list.pop_back();
  }
}

void FleetState::take(const Placement& p) {
  // Check everything before changing anything: a refused take leaves no trace.
  for (const NodeAlloc& a : p.allocs) {
    if (a.node >= nodes_.size()) throw std::logic_error("placement names a node out of the fleet");
    const NodeRecord& node = nodes_[a.node];
    if (a.gpu_mask == 0 || (a.gpu_mask & ~all_gpus(node.gpu_count)) != 0) {
      throw std::logic_error("placement names GPUs node " + fleet_->node_name(a.node) +
                             " does not have");
    }
    if (a.milli < 1000) {
      if (std::popcount(a.gpu_mask) != 1 || a.milli == 0) {
        throw std::logic_error("a GPU share must name exactly one GPU and a positive share");
      }
      const std::uint32_t gpu = fleet_->nodes()[a.node].first_gpu + std::countr_zero(a.gpu_mask);
      const bool whole_free = (node.free_mask & a.gpu_mask) != 0;
      if (!whole_free && (milli_used_[gpu] == 0 || milli_used_[gpu] + a.milli > 1000)) {
        throw std::logic_error("GPU share does not fit on " + fleet_->node_name(a.node));
      }
    } else if ((node.free_mask & a.gpu_mask) != a.gpu_mask) {
      throw std::logic_error("placement takes a GPU of " + fleet_->node_name(a.node) +
                             " that is not free");
    }
  }
  for (const NodeAlloc& a : p.allocs) {
    if (a.milli < 1000) {
      const std::uint32_t gpu = fleet_->nodes()[a.node].first_gpu + std::countr_zero(a.gpu_mask);
      const std::uint16_t old = milli_used_[gpu];
      if (old == 0) set_mask(a.node, nodes_[a.node].free_mask & ~a.gpu_mask);
      milli_used_[gpu] = static_cast<std::uint16_t>(old + a.milli);
      share_changed(a.node, gpu, old);
    } else {
      set_mask(a.node, nodes_[a.node].free_mask & ~a.gpu_mask);
    }
  }
}

void FleetState::give_back(const Placement& p) {
  for (const NodeAlloc& a : p.allocs) {
    if (a.milli < 1000) {
      const std::uint32_t gpu = fleet_->nodes()[a.node].first_gpu + std::countr_zero(a.gpu_mask);
      const std::uint16_t old = milli_used_[gpu];
      if (old < a.milli) throw std::logic_error("giving back a GPU share that was not taken");
      milli_used_[gpu] = static_cast<std::uint16_t>(old - a.milli);
      share_changed(a.node, gpu, old);
      if (milli_used_[gpu] == 0) set_mask(a.node, nodes_[a.node].free_mask | a.gpu_mask);
    } else {
      if ((nodes_[a.node].free_mask & a.gpu_mask) != 0) {
        throw std::logic_error("giving back a GPU of " + fleet_->node_name(a.node) +
                               " that is already free");
      }
      set_mask(a.node, nodes_[a.node].free_mask | a.gpu_mask);
    }
  }
}

void FleetState::set_up(std::uint32_t node, bool up) {
  if ((nodes_[node].up != 0) == up) return;
  if (!up) index_node(node, -1);
  nodes_[node].up = up ? 1 : 0;
  if (up) index_node(node, +1);
}

std::size_t FleetState::memory_bytes() const {
  std::size_t bytes = sizeof(*this);
  bytes += bucket_mask_.capacity() * sizeof(std::uint32_t) +
           free_by_type_.capacity() * sizeof(std::uint64_t) +
           nodes_.capacity() * sizeof(NodeRecord) + milli_used_.capacity() * sizeof(std::uint16_t) +
           hist_.capacity() * sizeof(std::uint32_t) + slot_free_.capacity() * sizeof(std::uint32_t);
  for (const auto& b : buckets_) bytes += sizeof(b) + b.capacity() * sizeof(std::uint32_t);
  for (const auto& c : class_switches_) bytes += sizeof(c) + c.capacity() * sizeof(SwitchSlot);
  for (const auto& c : type_classes_) bytes += sizeof(c) + c.capacity() * sizeof(std::uint16_t);
  for (const auto& s : shared_) bytes += sizeof(s) + s.capacity() * sizeof(std::uint32_t);
  bytes += shared_pos_.size() * 32;
  return bytes;
}

}  // namespace flotilla
