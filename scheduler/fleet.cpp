#include "scheduler/fleet.h"

#include <algorithm>

namespace flotilla {

std::string_view level_name(Level level) {
  switch (level) {
    case Level::kNode:
      return "node";
    case Level::kSwitch:
      return "switch";
    case Level::kSite:
      return "site";
    case Level::kRegion:
      return "region";
    case Level::kFleet:
      return "fleet";
  }
  return "?";
}

std::optional<std::uint32_t> Fleet::find_node(std::string_view name) const {
  auto it = node_index_.find(name);
  if (it == node_index_.end()) return std::nullopt;
  return it->second;
}

std::uint32_t Fleet::node_of_gpu(std::uint32_t gpu) const {
  auto it = std::upper_bound(nodes_.begin(), nodes_.end(), gpu,
                             [](std::uint32_t g, const Node& n) { return g < n.first_gpu; });
  return static_cast<std::uint32_t>(it - nodes_.begin()) - 1;
}

Level Fleet::common_level(std::uint32_t a, std::uint32_t b) const {
  if (a == b) return Level::kNode;
  if (nodes_[a].switch_id == nodes_[b].switch_id) return Level::kSwitch;
  if (site_of(a) == site_of(b)) return Level::kSite;
  if (region_of(a) == region_of(b)) return Level::kRegion;
  return Level::kFleet;
}

Link Fleet::path(std::uint32_t a, std::uint32_t b) const {
  Link p{.gbps = 0, .latency_us = 0};
  if (a == b) return p;
  bool first = true;
  auto hop = [&](const Link& l) {
    p.gbps = first ? l.gbps : std::min(p.gbps, l.gbps);
    p.latency_us += l.latency_us;
    first = false;
  };
  // Climb from both ends to the common level, taking each uplink on the way.
  const Level level = common_level(a, b);
  for (std::uint32_t n : {a, b}) {
    const Node& node = nodes_[n];
    hop(node.uplink);
    if (level >= Level::kSite) hop(switches_[node.switch_id].uplink);
    if (level >= Level::kRegion) hop(sites_[site_of(n)].uplink);
    if (level >= Level::kFleet) hop(regions_[region_of(n)].uplink);
  }
  return p;
}

std::size_t Fleet::memory_bytes() const {
  std::size_t bytes = sizeof(*this);
  bytes += regions_.capacity() * sizeof(Region) + sites_.capacity() * sizeof(Site) +
           switches_.capacity() * sizeof(Switch) + nodes_.capacity() * sizeof(Node);
  for (const std::string& n : node_names_) {
    bytes += sizeof(std::string) + (n.size() > 15 ? n.capacity() + 1 : 0);
  }
  // Rough cost of an unordered_map entry: key, value, next pointer, bucket.
  bytes += node_index_.size() * (sizeof(std::string_view) + 2 * sizeof(void*) + 8);
  for (const std::string& p : providers_) bytes += sizeof(std::string) + p.capacity();
  return bytes;
}

FleetBuilder::FleetBuilder(std::string name, const GpuCatalog& catalog) {
  fleet_.name_ = std::move(name);
  fleet_.catalog_ = &catalog;
}

void FleetBuilder::reserve(std::size_t nodes) {
  fleet_.nodes_.reserve(nodes);
  fleet_.node_names_.reserve(nodes);
  seen_hosts_.reserve(nodes);
  provider_index_.reserve(nodes);
}

void FleetBuilder::add_region(std::string name, Link uplink) {
  fleet_.regions_.push_back(Region{.name = std::move(name),
                                   .uplink = uplink,
                                   .first_site = static_cast<std::uint32_t>(fleet_.sites_.size()),
                                   .num_sites = 0});
}

void FleetBuilder::add_site(std::string name, Link uplink) {
  fleet_.regions_.back().num_sites++;
  fleet_.sites_.push_back(Site{.name = std::move(name),
                               .uplink = uplink,
                               .region = static_cast<std::uint32_t>(fleet_.regions_.size() - 1),
                               .first_switch = static_cast<std::uint32_t>(fleet_.switches_.size()),
                               .num_switches = 0});
}

void FleetBuilder::add_switch(std::string name, Link uplink) {
  fleet_.sites_.back().num_switches++;
  fleet_.switches_.push_back(Switch{.name = std::move(name),
                                    .uplink = uplink,
                                    .site = static_cast<std::uint32_t>(fleet_.sites_.size() - 1),
                                    .first_node = static_cast<std::uint32_t>(fleet_.nodes_.size()),
                                    .num_nodes = 0});
}

Status FleetBuilder::add_node(std::string name, const Node& node, std::string_view provider) {
  if (node.gpu_count == 0 || node.gpu_count > kMaxGpusPerNode) {
    return Status::error("node " + name + ": GPU count must be 1.." +
                         std::to_string(kMaxGpusPerNode));
  }
  if (node.nvlink_domain_size == 0 || node.gpu_count % node.nvlink_domain_size != 0) {
    return Status::error("node " + name + ": NVLink domain size " +
                         std::to_string(node.nvlink_domain_size) + " does not divide " +
                         std::to_string(node.gpu_count) + " GPUs");
  }
  if (node.gpu_type >= fleet_.catalog_->size()) {
    return Status::error("node " + name + ": GPU type id out of the catalog");
  }
  const auto id = static_cast<std::uint32_t>(fleet_.nodes_.size());
  if (!seen_hosts_.emplace(name, id).second) {
    return Status::error("duplicate host " + name);
  }
  auto [it, inserted] = provider_index_.emplace(
      std::string(provider), static_cast<std::uint32_t>(fleet_.providers_.size()));
  if (inserted) fleet_.providers_.emplace_back(provider);

  Node n = node;
  n.switch_id = static_cast<std::uint32_t>(fleet_.switches_.size() - 1);
  n.provider = it->second;
  n.first_gpu = fleet_.total_gpus_;
  fleet_.total_gpus_ += n.gpu_count;
  fleet_.switches_.back().num_nodes++;
  fleet_.nodes_.push_back(n);
  fleet_.node_names_.push_back(std::move(name));
  return Status::ok();
}

Result<Fleet> FleetBuilder::build() {
  if (fleet_.nodes_.empty()) return Status::error("fleet " + fleet_.name_ + " has no nodes");
  seen_hosts_.clear();
  provider_index_.clear();
  fleet_.node_index_.reserve(fleet_.node_names_.size());
  for (std::uint32_t i = 0; i < fleet_.node_names_.size(); ++i) {
    fleet_.node_index_.emplace(fleet_.node_names_[i], i);
  }
  GpuTypeSet present;
  for (const Node& n : fleet_.nodes_) present.set(n.gpu_type);
  for (GpuTypeId t = 0; t < fleet_.catalog_->size(); ++t) {
    if (present.test(t)) fleet_.types_present_.push_back(t);
  }
  return std::move(fleet_);
}

}  // namespace flotilla
