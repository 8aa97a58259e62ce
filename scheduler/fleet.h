// The fleet model: a tree fleet > region > site > switch > node > GPU, flattened
// into arrays so that placement can walk it without pointer chasing. Children
// are contiguous (a switch owns nodes [first_node, first_node + num_nodes)), so a
// subtree is an index range at every level. Built once by FleetBuilder (the TOML
// loader, tests, benchmarks), then immutable and safe to share between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "scheduler/gpu_catalog.h"
#include "scheduler/status.h"

namespace flotilla {

// The link from a subtree to its parent.
struct Link {
  double gbps = 0;              // bandwidth, Gb/s
  std::int64_t latency_us = 0;  // one-way latency, microseconds
};

// Levels of the topology tree, lowest first; a placement is "at" the lowest
// level whose one subtree holds all its nodes.
enum class Level : std::uint8_t { kNode = 0, kSwitch = 1, kSite = 2, kRegion = 3, kFleet = 4 };
std::string_view level_name(Level level);

constexpr unsigned kMaxGpusPerNode = 16;  // a node's GPUs fit one 16-bit mask

struct Region {
  std::string name;
  Link uplink;
  std::uint32_t first_site = 0, num_sites = 0;
};
struct Site {
  std::string name;
  Link uplink;
  std::uint32_t region = 0;
  std::uint32_t first_switch = 0, num_switches = 0;
};
struct Switch {
  std::string name;
  Link uplink;
  std::uint32_t site = 0;
  std::uint32_t first_node = 0, num_nodes = 0;
};
struct Node {
  std::uint32_t switch_id = 0;
  std::uint32_t provider = 0;
  std::uint32_t first_gpu = 0;  // fleet-wide index of GPU 0 of this node
  GpuTypeId gpu_type = 0;
  std::uint8_t gpu_count = 0;
  // GPUs [k*d, (k+1)*d) share one NVLink/P2P domain; 1 means no P2P at all.
  std::uint8_t nvlink_domain_size = 1;
  std::uint64_t price_micro_usd_per_gpu_hour = 0;
  std::uint32_t watts = 0;  // whole node at full load
  Link uplink;              // node to its switch
};

class Fleet {
 public:
  Fleet() = default;
  // Not copyable: node_index_ holds views into node_names_.
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;
  Fleet(Fleet&&) = default;
  Fleet& operator=(Fleet&&) = default;

  const std::string& name() const { return name_; }
  const GpuCatalog& catalog() const { return *catalog_; }

  std::span<const Region> regions() const { return regions_; }
  std::span<const Site> sites() const { return sites_; }
  std::span<const Switch> switches() const { return switches_; }
  std::span<const Node> nodes() const { return nodes_; }
  const Node& node_at(std::uint32_t id) const { return nodes_.at(id); }
  // The node that holds fleet-wide GPU index `gpu` (< total_gpus()).
  std::uint32_t node_of_gpu(std::uint32_t gpu) const;
  const std::string& node_name(std::uint32_t id) const { return node_names_.at(id); }
  std::optional<std::uint32_t> find_node(std::string_view name) const;

  const std::vector<std::string>& providers() const { return providers_; }
  std::uint32_t site_of(std::uint32_t node) const { return switches_[nodes_[node].switch_id].site; }
  std::uint32_t region_of(std::uint32_t node) const { return sites_[site_of(node)].region; }
  std::uint32_t total_gpus() const { return total_gpus_; }
  // GPU types present in this fleet, in catalog order.
  const std::vector<GpuTypeId>& gpu_types_present() const { return types_present_; }

  // Lowest level whose one subtree holds both nodes.
  Level common_level(std::uint32_t a, std::uint32_t b) const;
  // The slowest link and summed latency on the path between two nodes.
  Link path(std::uint32_t a, std::uint32_t b) const;

  // Bytes this object holds (arrays and names), for the memory budget.
  std::size_t memory_bytes() const;

 private:
  friend class FleetBuilder;
  std::string name_;
  const GpuCatalog* catalog_ = nullptr;
  std::vector<Region> regions_;
  std::vector<Site> sites_;
  std::vector<Switch> switches_;
  std::vector<Node> nodes_;
  std::vector<std::string> node_names_;
  std::unordered_map<std::string_view, std::uint32_t> node_index_;
  std::vector<std::string> providers_;
  std::vector<GpuTypeId> types_present_;
  std::uint32_t total_gpus_ = 0;
};

// Appends the tree depth-first: add_region, then its sites, each site's
// switches, each switch's nodes. Single-threaded.
class FleetBuilder {
 public:
  FleetBuilder(std::string name, const GpuCatalog& catalog = GpuCatalog::builtin());

  // Sizes the arrays and maps for `nodes` nodes up front; only a hint, but it
  // saves most of the time a 180,000-node fleet takes to build.
  void reserve(std::size_t nodes);

  void add_region(std::string name, Link uplink);
  void add_site(std::string name, Link uplink);    // in the last region
  void add_switch(std::string name, Link uplink);  // in the last site
  // In the last switch. Errors: duplicate host, bad GPU count or domain size.
  Status add_node(std::string name, const Node& node, std::string_view provider);

  // Errors on an empty fleet. The builder is spent afterwards.
  Result<Fleet> build();

 private:
  Fleet fleet_;
  std::unordered_map<std::string, std::uint32_t> provider_index_;
  std::unordered_map<std::string, std::uint32_t> seen_hosts_;
};

}  // namespace flotilla
