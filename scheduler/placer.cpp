#include "scheduler/placer.h"

#include <algorithm>
#include <array>
#include <bit>
#include <numeric>

namespace flotilla {
namespace {

using Hist = std::array<std::uint32_t, kFreeSlots>;

std::uint16_t all_gpus(unsigned count) {
  return static_cast<std::uint16_t>((1u << count) - 1);
}

std::uint16_t lowest_bits(std::uint16_t mask, unsigned n) {
  std::uint16_t out = 0;
  for (; n > 0; --n) {
    const std::uint16_t bit = mask & static_cast<std::uint16_t>(-mask);
    out |= bit;
    mask &= static_cast<std::uint16_t>(~bit);
  }
  return out;
}

// The subtree at `level` that holds switch `sw`.
std::uint32_t scope_of(const Fleet& fleet, std::uint32_t sw, Level level) {
  switch (level) {
    case Level::kSwitch:
      return sw;
    case Level::kSite:
      return fleet.switches()[sw].site;
    case Level::kRegion:
      return fleet.sites()[fleet.switches()[sw].site].region;
    default:
      return 0;
  }
}

}  // namespace

// The request as one GPU type sees it.
struct Placer::Shape {
  GpuTypeId type = 0;
  std::span<const std::uint16_t> classes;
  unsigned nodes = 0;     // exact node count (per-node mode) or cap (packed; 0: none)
  unsigned per_node = 0;  // GPUs per node; 0: packed, any split of `total`
  unsigned total = 0;
  std::uint16_t milli = 1000;
  bool exclusive = false;
  std::optional<std::uint32_t> max_switches;

  // Usable capacity of a (combined) histogram: nodes for per-node mode, GPUs
  // for packed mode.
  std::uint64_t capacity(const Hist& h) const {
    std::uint64_t c = 0;
    if (per_node > 0) {
      for (unsigned f = per_node; f < kFreeSlots; ++f) c += h[f];
      return c;
    }
    std::uint64_t nodes_left = nodes > 0 ? nodes : UINT64_MAX;
    for (unsigned f = kFreeSlots - 1; f > 0 && nodes_left > 0; --f) {
      const std::uint64_t take = std::min<std::uint64_t>(h[f], nodes_left);
      c += take * f;
      nodes_left -= take;
    }
    return c;
  }
  bool feasible(std::uint64_t capacity) const {
    return per_node > 0 ? capacity >= nodes : capacity >= total;
  }
  // Adds one class's histogram; exclusive jobs see only idle nodes, as many
  // GPUs as the node has.
  void add(Hist& h, std::span<const std::uint32_t, kFreeSlots> hist, unsigned gpu_count) const {
    if (exclusive) {
      h[gpu_count] += hist[gpu_count];
    } else {
      for (unsigned f = 0; f < kFreeSlots; ++f) h[f] += hist[f];
    }
  }
  bool node_usable(const FleetState& state, std::uint32_t node) const {
    if (!state.is_up(node)) return false;
    if (std::find(classes.begin(), classes.end(), state.class_of(node)) == classes.end()) {
      return false;
    }
    if (exclusive) {
      return state.is_idle(node) && state.fleet().nodes()[node].gpu_count >= per_node;
    }
    return state.free_gpus(node) >= std::max(per_node, 1u);
  }
};

double cheapest_type_score(const Fleet& fleet, GpuTypeId type) {
  double sum = 0, gpus = 0;
  for (const Node& n : fleet.nodes()) {
    if (n.gpu_type != type) continue;
    sum += static_cast<double>(n.price_micro_usd_per_gpu_hour) * n.gpu_count;
    gpus += n.gpu_count;
  }
  return gpus > 0 ? sum / gpus : 0;
}

std::uint16_t pick_gpus(std::uint16_t free, unsigned gpus, unsigned domain_size,
                        unsigned gpu_count) {
  if (domain_size <= 1 || domain_size >= gpu_count || gpus >= gpu_count) {
    return lowest_bits(free, gpus);
  }
  const unsigned domains = gpu_count / domain_size;
  auto domain_free = [&](unsigned d) {
    return static_cast<std::uint16_t>(free & (all_gpus(domain_size) << (d * domain_size)));
  };
  // The tightest single domain that holds the whole job.
  int best = -1;
  unsigned best_free = kMaxGpusPerNode + 1;
  for (unsigned d = 0; d < domains; ++d) {
    const unsigned f = static_cast<unsigned>(std::popcount(domain_free(d)));
    if (f >= gpus && f < best_free) {
      best = static_cast<int>(d);
      best_free = f;
    }
  }
  if (best >= 0) return lowest_bits(domain_free(static_cast<unsigned>(best)), gpus);
  // Otherwise span domains, emptiest first, so as few domains as possible are cut.
  std::array<unsigned, kMaxGpusPerNode> order{};
  std::iota(order.begin(), order.begin() + domains, 0u);
  std::stable_sort(order.begin(), order.begin() + domains, [&](unsigned a, unsigned b) {
    return std::popcount(domain_free(a)) > std::popcount(domain_free(b));
  });
  std::uint16_t out = 0;
  for (unsigned i = 0; i < domains && gpus > 0; ++i) {
    const std::uint16_t m = domain_free(order[i]);
    const unsigned take = std::min(gpus, static_cast<unsigned>(std::popcount(m)));
    out |= lowest_bits(m, take);
    gpus -= take;
  }
  return out;
}

Placer::Placer(PlacerOptions options) : options_(std::move(options)), rng_(options_.seed) {}

std::span<const Placer::TypeChoice> Placer::type_order(const Fleet& fleet) {
  if (ordered_for_ != &fleet) {
    std::vector<std::pair<double, GpuTypeId>> scored;
    for (GpuTypeId t : fleet.gpu_types_present()) {
      scored.emplace_back(options_.type_scorer(fleet, t), t);
    }
    std::stable_sort(scored.begin(), scored.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    type_order_.clear();
    for (const auto& s : scored)
      type_order_.push_back({s.second, fleet.catalog().at(s.second).mem_gb});
    ordered_for_ = &fleet;
  }
  return type_order_;
}

std::optional<Placement> Placer::choose(const FleetState& state, const PlacementRequest& request) {
  for (const TypeChoice& c : type_order(state.fleet())) {
    if (!c.accepts(request)) continue;
    if (auto p = place_type(state, request, c.type)) return p;
  }
  return std::nullopt;
}

bool Placer::is_free_split(const PlacementRequest& r) {
  return r.gpu_milli == 1000 && r.total_gpus > 0 && r.nodes == 0 && r.gpus_per_node == 0 &&
         !r.exclusive && !r.max_switches;
}

std::optional<GpuTypeId> Placer::free_split_type(const FleetState& state,
                                                 const PlacementRequest& request) {
  // place_type() tries one node, then the lowest subtree with room; the
  // whole fleet is the last subtree, so room in any node of the type is enough.
  for (const TypeChoice& c : type_order(state.fleet())) {
    if (c.accepts(request) && state.free_whole_gpus(c.type) >= request.total_gpus) return c.type;
  }
  return std::nullopt;
}

std::optional<Placement> Placer::place_type(const FleetState& state,
                                            const PlacementRequest& request, GpuTypeId type) {
  Shape s{.type = type,
          .classes = state.classes_of_type(type),
          .nodes = request.nodes,
          .per_node = request.gpus_per_node,
          .total = request.total_gpus,
          .milli = request.gpu_milli,
          .exclusive = request.exclusive,
          .max_switches = request.max_switches};
  if (s.classes.empty()) return std::nullopt;
  if (s.milli < 1000) return place_share(state, s);
  if (s.per_node > 0) {
    if (s.nodes <= 1) {
      s.nodes = 1;
      return place_one_node(state, s);
    }
    return place_nodes(state, s);
  }
  // Free split: one node when one can hold it all, else as few nodes as fit.
  unsigned largest = 0;
  for (std::uint16_t c : s.classes)
    largest = std::max<unsigned>(largest, state.classes()[c].gpu_count);
  if (s.total <= largest) {
    Shape one = s;
    one.per_node = s.total;
    one.nodes = 1;
    if (auto p = place_one_node(state, one)) return p;
  }
  if (s.nodes == 1) return std::nullopt;
  return place_nodes(state, s);
}

std::optional<Placement> Placer::place_one_node(const FleetState& state, const Shape& s) {
  std::optional<std::uint32_t> node = pick_node(
      state, NodeNeed{.classes = s.classes, .gpus = s.per_node, .exclusive = s.exclusive});
  if (!node) return std::nullopt;
  const Node& n = state.fleet().nodes()[*node];
  const std::uint16_t mask = s.exclusive ? all_gpus(n.gpu_count)
                                         : pick_gpus(state.free_mask(*node), s.per_node,
                                                     n.nvlink_domain_size, n.gpu_count);
  return Placement{.allocs = {NodeAlloc{.node = *node, .gpu_mask = mask, .milli = 1000}},
                   .gpu_type = s.type,
                   .level = Level::kNode,
                   .exclusive = s.exclusive};
}

std::optional<Placement> Placer::place_share(const FleetState& state, const Shape& s) {
  const Fleet& fleet = state.fleet();
  std::vector<ShareCandidate> candidates;
  for (std::uint16_t cls : s.classes) {
    for (std::uint32_t gpu : state.shared_gpus(cls)) {
      const std::uint32_t node = fleet.node_of_gpu(gpu);
      const auto room = static_cast<std::uint16_t>(1000 - state.milli_used(gpu));
      if (state.is_up(node) && room >= s.milli) {
        candidates.push_back({node, gpu - fleet.nodes()[node].first_gpu, room});
      }
    }
  }
  // Whole free GPUs: one node per (class, free count), as pick_node would see them.
  for_each_bucket(state, NodeNeed{.classes = s.classes, .gpus = 1, .exclusive = false},
                  [&](std::uint16_t, unsigned, std::span<const std::uint32_t> nodes) {
                    const std::uint32_t node = nodes.back();
                    const Node& n = fleet.nodes()[node];
                    const std::uint16_t m =
                        pick_gpus(state.free_mask(node), 1, n.nvlink_domain_size, n.gpu_count);
                    candidates.push_back({node, static_cast<unsigned>(std::countr_zero(m)), 1000});
                    return false;
                  });
  if (candidates.empty()) return std::nullopt;
  const ShareCandidate& c = candidates[pick_share(state, candidates, s.milli)];
  return Placement{
      .allocs = {NodeAlloc{
          .node = c.node, .gpu_mask = static_cast<std::uint16_t>(1u << c.gpu), .milli = s.milli}},
      .gpu_type = s.type,
      .level = Level::kNode,
      .exclusive = false};
}

std::optional<Placement> Placer::place_nodes(const FleetState& state, const Shape& s) {
  const Fleet& fleet = state.fleet();
  // A free split with no node cap only counts free GPUs (see below), and
  // FleetState keeps them per type: the quickest refusal, and the usual one,
  // since choose() comes here for every acceptable type in turn.
  const bool by_free_gpus = s.per_node == 0 && s.nodes == 0 && !s.exclusive;
  if (by_free_gpus && state.free_whole_gpus(s.type) < s.total) return std::nullopt;
  // Quick refusal: the fleet's buckets already count every usable node.
  if (!by_free_gpus) {
    Hist whole{};
    for (std::uint16_t cls : s.classes) {
      for (unsigned f = 1; f < kFreeSlots; ++f) {
        const std::uint64_t nodes = state.bucket(cls, f).size();
        if (s.exclusive) {
          if (f == state.classes()[cls].gpu_count) whole[f] += static_cast<std::uint32_t>(nodes);
        } else {
          whole[f] += static_cast<std::uint32_t>(nodes);
        }
      }
    }
    if (!s.feasible(s.capacity(whole))) return std::nullopt;
  }

  // Every switch that could contribute, with its histogram for this job, in
  // fleet order. Sites, regions and the fleet are runs of consecutive switches.
  // A class slot with nothing usable adds nothing (capacity is additive over
  // classes, or capped, never created by merging), so it is left out.
  std::vector<SwitchOffer>& offers = offers_;
  offers.clear();
  hists_.clear();
  // A free split needs no histogram: FleetState keeps free GPUs per slot.
  for (std::uint16_t cls : s.classes) {
    const unsigned count = state.classes()[cls].gpu_count;
    if (count < s.per_node) continue;
    const std::size_t run = offers.size();
    for (const FleetState::SwitchSlot& ss : state.switches_with_class(cls)) {
      if (by_free_gpus) {
        const std::uint32_t free = state.free_gpus_in(ss.slot);
        if (free > 0) offers.push_back({.sw = ss.switch_id, .capacity = free, .hist = 0});
        continue;
      }
      Hist h{};
      s.add(h, state.histogram(ss.slot), count);
      if (const std::uint64_t capacity = s.capacity(h); capacity > 0) {
        offers.push_back({.sw = ss.switch_id,
                          .capacity = capacity,
                          .hist = static_cast<std::uint32_t>(hists_.size())});
        hists_.push_back(h);
      }
    }
    // Each class lists its switches in fleet order: merge its run into the
    // sorted prefix (stable, so a switch keeps its classes in class order),
    // into a kept buffer rather than a sort's fresh temporary one.
    if (run > 0 && run < offers.size()) {
      merged_.clear();
      std::merge(offers.begin(), offers.begin() + static_cast<std::ptrdiff_t>(run),
                 offers.begin() + static_cast<std::ptrdiff_t>(run), offers.end(),
                 std::back_inserter(merged_),
                 [](const SwitchOffer& a, const SwitchOffer& b) { return a.sw < b.sw; });
      offers.swap(merged_);
    }
  }
  if (s.classes.size() > 1) {
    std::size_t out = 0;
    for (std::size_t i = 0; i < offers.size(); ++i) {
      if (out > 0 && offers[out - 1].sw == offers[i].sw) {
        if (!by_free_gpus) {
          Hist& into = hists_[offers[out - 1].hist];
          for (unsigned f = 0; f < kFreeSlots; ++f) into[f] += hists_[offers[i].hist][f];
        }
        offers[out - 1].capacity += offers[i].capacity;  // exact for free GPUs; recomputed below
      } else {
        offers[out++] = offers[i];
      }
    }
    offers.resize(out);
    if (!by_free_gpus) {
      for (SwitchOffer& o : offers) o.capacity = s.capacity(hists_[o.hist]);
    }
  }

  // The switches of one subtree the job would use: most capacity first, at
  // most --switches of them. `order` receives their indices into `offers`;
  // their merged histogram is what take_nodes can reach.
  auto choose_in = [&](std::size_t first, std::size_t last, std::vector<std::uint32_t>& order) {
    order.clear();
    for (std::size_t i = first; i < last; ++i) order.push_back(static_cast<std::uint32_t>(i));
    auto more = [&](std::uint32_t a, std::uint32_t b) {
      return offers[a].capacity != offers[b].capacity ? offers[a].capacity > offers[b].capacity
                                                      : a < b;
    };
    if (s.max_switches && order.size() > *s.max_switches) {
      std::partial_sort(order.begin(), order.begin() + *s.max_switches, order.end(), more);
      order.resize(*s.max_switches);
    } else {
      std::sort(order.begin(), order.end(), more);
    }
    if (by_free_gpus) {
      std::uint64_t sum = 0;
      for (std::uint32_t i : order) sum += offers[i].capacity;
      return sum;
    }
    Hist merged{};
    for (std::uint32_t i : order) {
      for (unsigned f = 0; f < kFreeSlots; ++f) merged[f] += hists_[offers[i].hist][f];
    }
    return s.capacity(merged);
  };

  constexpr std::array kLevels{Level::kSwitch, Level::kSite, Level::kRegion, Level::kFleet};
  std::vector<ScopeCandidate>& candidates = candidates_;
  std::vector<std::pair<std::size_t, std::size_t>>& groups = groups_;  // offers range per candidate
  std::vector<std::uint32_t>& order = order_;
  for (Level level : kLevels) {
    if (level > Level::kSwitch && s.max_switches && *s.max_switches <= 1) break;
    candidates.clear();
    groups.clear();
    for (std::size_t i = 0; i < offers.size();) {
      const std::uint32_t scope = scope_of(fleet, offers[i].sw, level);
      std::size_t j = i + 1;
      while (j < offers.size() && scope_of(fleet, offers[j].sw, level) == scope) ++j;
      const std::uint64_t cap = j - i == 1 ? offers[i].capacity : choose_in(i, j, order);
      if (s.feasible(cap)) {
        candidates.push_back({scope, cap});
        groups.emplace_back(i, j);
      }
      i = j;
    }
    if (candidates.empty()) continue;
    const auto [first, last] = groups[pick_scope(candidates)];
    choose_in(first, last, order);
    std::vector<std::uint32_t> switches;
    for (std::uint32_t i : order) switches.push_back(offers[i].sw);
    return take_nodes(state, s, switches);
  }
  return std::nullopt;
}

std::optional<Placement> Placer::take_nodes(const FleetState& state, const Shape& s,
                                            std::span<const std::uint32_t> switches) {
  const Fleet& fleet = state.fleet();
  Placement p{.allocs = {}, .gpu_type = s.type, .level = Level::kNode, .exclusive = s.exclusive};
  std::vector<std::uint32_t> nodes;
  unsigned remaining = s.per_node > 0 ? s.nodes : s.total;
  std::uint64_t gathered = 0;  // free split: GPUs on the nodes gathered so far
  for (std::uint32_t sw : switches) {
    const Switch& swi = fleet.switches()[sw];
    std::vector<std::uint32_t> here;
    for (std::uint32_t n = swi.first_node; n < swi.first_node + swi.num_nodes; ++n) {
      if (s.node_usable(state, n)) here.push_back(n);
    }
    if (s.per_node > 0) {
      order_nodes(state, here);
      const std::size_t take = std::min<std::size_t>(here.size(), remaining);
      nodes.insert(nodes.end(), here.begin(), here.begin() + static_cast<std::ptrdiff_t>(take));
      remaining -= static_cast<unsigned>(take);
      if (remaining == 0) break;
    } else {
      nodes.insert(nodes.end(), here.begin(), here.end());
      // Without a node cap the fullest switches come first and any nodes
      // that hold the GPUs will do: stop once they are enough.
      if (s.nodes == 0) {
        for (std::uint32_t n : here) {
          const unsigned offer = s.exclusive ? fleet.nodes()[n].gpu_count : state.free_gpus(n);
          gathered += offer;
        }
        if (gathered >= s.total) break;
      }
    }
  }
  if (s.per_node > 0) {
    if (remaining > 0) return std::nullopt;  // the histograms promised more
    for (std::uint32_t n : nodes) {
      const Node& node = fleet.nodes()[n];
      const std::uint16_t mask = s.exclusive ? all_gpus(node.gpu_count)
                                             : pick_gpus(state.free_mask(n), s.per_node,
                                                         node.nvlink_domain_size, node.gpu_count);
      p.allocs.push_back({n, mask, 1000});
    }
  } else {
    // Free split: the biggest nodes first (fewest nodes), the last piece on
    // the tightest node that holds it.
    auto offer = [&](std::uint32_t n) {
      return s.exclusive ? fleet.nodes()[n].gpu_count : state.free_gpus(n);
    };
    std::stable_sort(nodes.begin(), nodes.end(),
                     [&](std::uint32_t a, std::uint32_t b) { return offer(a) > offer(b); });
    for (std::size_t i = 0; i < nodes.size() && remaining > 0; ++i) {
      std::size_t pick = i;
      if (offer(nodes[i]) >= remaining) {
        for (std::size_t j = nodes.size(); j-- > i;) {
          if (offer(nodes[j]) >= remaining) {
            pick = j;
            break;
          }
        }
      }
      const Node& node = fleet.nodes()[nodes[pick]];
      const unsigned take = s.exclusive ? node.gpu_count : std::min(remaining, offer(nodes[pick]));
      const std::uint16_t mask = s.exclusive ? all_gpus(node.gpu_count)
                                             : pick_gpus(state.free_mask(nodes[pick]), take,
                                                         node.nvlink_domain_size, node.gpu_count);
      p.allocs.push_back({nodes[pick], mask, 1000});
      remaining -= std::min(remaining, take);
    }
    if (remaining > 0 || (s.nodes > 0 && p.allocs.size() > s.nodes)) return std::nullopt;
  }
  // The level actually used: the lowest whose one subtree holds every node.
  for (const NodeAlloc& a : p.allocs) {
    p.level = std::max(p.level, fleet.common_level(p.allocs.front().node, a.node));
  }
  return p;
}

void Placer::order_nodes(const FleetState& state, std::vector<std::uint32_t>& nodes) {
  std::stable_sort(nodes.begin(), nodes.end(), [&](std::uint32_t a, std::uint32_t b) {
    return state.free_gpus(a) < state.free_gpus(b);
  });
}

std::size_t Placer::pick_share(const FleetState&, std::span<const ShareCandidate> shared,
                               std::uint16_t) {
  // Tightest room first; among whole GPUs, the first offered (fewest free).
  std::size_t best = 0;
  for (std::size_t i = 1; i < shared.size(); ++i) {
    if (shared[i].room < shared[best].room) best = i;
  }
  return best;
}

}  // namespace flotilla
