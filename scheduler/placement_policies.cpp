// The placement policies selectable by name. Each overrides only the choices
// Placer leaves open (see placer.h).
#include <algorithm>
#include <array>
#include <tuple>

#include "scheduler/placer.h"

namespace flotilla {
namespace {

// Fewest free GPUs that still fit, tightest subtree: packs work together and
// keeps big holes for big jobs (Slurm's select/cons_tres with topology/tree).
class BestFitPlacer final : public Placer {
 public:
  using Placer::Placer;
  std::string_view name() const override { return "best-fit"; }

 protected:
  std::optional<std::uint32_t> pick_node(const FleetState& state, const NodeNeed& need) override {
    std::optional<std::uint32_t> node;
    for_each_bucket(state, need,
                    [&](std::uint16_t, unsigned, std::span<const std::uint32_t> nodes) {
                      node = nodes.back();
                      return true;
                    });
    return node;
  }
  std::size_t pick_scope(std::span<const ScopeCandidate> c) override { return tightest(c); }

 public:
  static std::size_t tightest(std::span<const ScopeCandidate> c) {
    return static_cast<std::size_t>(
        std::min_element(c.begin(), c.end(),
                         [](const auto& a, const auto& b) { return a.capacity < b.capacity; }) -
        c.begin());
  }
};

// The lowest-numbered node and subtree that fit: the classic baseline.
class FirstFitPlacer final : public Placer {
 public:
  using Placer::Placer;
  std::string_view name() const override { return "first-fit"; }

 protected:
  std::optional<std::uint32_t> pick_node(const FleetState& state, const NodeNeed& need) override {
    // The first switch (in fleet order) holding a fitting node, from the
    // switch histograms; then the first fitting node inside it.
    std::optional<std::uint32_t> first_switch;
    for (std::uint16_t cls : need.classes) {
      const unsigned count = state.classes()[cls].gpu_count;
      if (count < need.gpus) continue;
      for (const FleetState::SwitchSlot& ss : state.switches_with_class(cls)) {
        if (first_switch && ss.switch_id >= *first_switch) break;
        auto h = state.histogram(ss.slot);
        std::uint64_t fitting = 0;
        if (need.exclusive) {
          fitting = h[count];
        } else {
          for (unsigned f = std::max(need.gpus, 1u); f <= count; ++f) fitting += h[f];
        }
        if (fitting > 0) {
          first_switch = ss.switch_id;
          break;
        }
      }
    }
    if (!first_switch) return std::nullopt;
    const Switch& sw = state.fleet().switches()[*first_switch];
    for (std::uint32_t n = sw.first_node; n < sw.first_node + sw.num_nodes; ++n) {
      if (!state.is_up(n)) continue;
      if (std::find(need.classes.begin(), need.classes.end(), state.class_of(n)) ==
          need.classes.end()) {
        continue;
      }
      const bool fits =
          need.exclusive
              ? state.is_idle(n) && state.classes()[state.class_of(n)].gpu_count >= need.gpus
              : state.free_gpus(n) >= std::max(need.gpus, 1u);
      if (fits) return n;
    }
    return std::nullopt;  // unreachable while the histograms are right
  }
  std::size_t pick_scope(std::span<const ScopeCandidate>) override { return 0; }
  void order_nodes(const FleetState&, std::vector<std::uint32_t>&) override {}
  std::size_t pick_share(const FleetState&, std::span<const ShareCandidate> c,
                         std::uint16_t) override {
    return static_cast<std::size_t>(
        std::min_element(c.begin(), c.end(),
                         [](const auto& a, const auto& b) {
                           return std::pair{a.node, a.gpu} < std::pair{b.node, b.gpu};
                         }) -
        c.begin());
  }
};

// Uniformly among the nodes or subtrees that fit: the spreading baseline.
class RandomPlacer final : public Placer {
 public:
  using Placer::Placer;
  std::string_view name() const override { return "random"; }
  bool randomized() const override { return true; }

 protected:
  std::optional<std::uint32_t> pick_node(const FleetState& state, const NodeNeed& need) override {
    std::uint64_t total = 0;
    for_each_bucket(state, need,
                    [&](std::uint16_t, unsigned, std::span<const std::uint32_t> nodes) {
                      total += nodes.size();
                      return false;
                    });
    if (total == 0) return std::nullopt;
    std::uint64_t r = rng()() % total;
    std::optional<std::uint32_t> node;
    for_each_bucket(state, need,
                    [&](std::uint16_t, unsigned, std::span<const std::uint32_t> nodes) {
                      if (r < nodes.size()) {
                        node = nodes[r];
                        return true;
                      }
                      r -= nodes.size();
                      return false;
                    });
    return node;
  }
  std::size_t pick_scope(std::span<const ScopeCandidate> c) override { return rng()() % c.size(); }
  void order_nodes(const FleetState&, std::vector<std::uint32_t>& nodes) override {
    std::shuffle(nodes.begin(), nodes.end(), rng());
  }
  std::size_t pick_share(const FleetState&, std::span<const ShareCandidate> c,
                         std::uint16_t) override {
    return rng()() % c.size();
  }
};

// Fragmentation gradient descent (Weng et al., USENIX ATC'23): put the task
// where the workload's expected fragmentation grows least. Nodes in one
// (class, free count) bucket differ only in their partly-used GPUs, so one
// node per bucket stands for it.
class FgdPlacer final : public Placer {
 public:
  using Placer::Placer;
  std::string_view name() const override { return "fgd"; }

 protected:
  std::optional<std::uint32_t> pick_node(const FleetState& state, const NodeNeed& need) override {
    std::optional<std::uint32_t> best;
    double best_delta = 0;
    for_each_bucket(state, need,
                    [&](std::uint16_t, unsigned, std::span<const std::uint32_t> nodes) {
                      const std::uint32_t node = nodes.back();
                      NodeCapacity c = node_capacity(state, node);
                      const double before = node_fragmentation(c, options().workload);
                      c.free_gpus = need.exclusive ? 0 : c.free_gpus - need.gpus;
                      if (need.exclusive) c.rooms.clear();
                      const double delta = node_fragmentation(c, options().workload) - before;
                      if (!best || delta < best_delta) {
                        best = node;
                        best_delta = delta;
                      }
                      return false;
                    });
    return best;
  }
  std::size_t pick_scope(std::span<const ScopeCandidate> c) override {
    return BestFitPlacer::tightest(c);
  }
  std::size_t pick_share(const FleetState& state, std::span<const ShareCandidate> c,
                         std::uint16_t milli) override {
    std::size_t best = 0;
    double best_delta = 0;
    for (std::size_t i = 0; i < c.size(); ++i) {
      NodeCapacity cap = node_capacity(state, c[i].node);
      const double before = node_fragmentation(cap, options().workload);
      if (c[i].room == 1000) {
        cap.free_gpus -= 1;
        cap.rooms.push_back(static_cast<std::uint16_t>(1000 - milli));
      } else {
        auto it = std::find(cap.rooms.begin(), cap.rooms.end(), c[i].room);
        *it = static_cast<std::uint16_t>(*it - milli);
      }
      const double delta = node_fragmentation(cap, options().workload) - before;
      if (i == 0 || delta < best_delta || (delta == best_delta && c[i].room < c[best].room)) {
        best = i;
        best_delta = delta;
      }
    }
    return best;
  }
};

// GPU packing, the FGD paper's packing baseline (Weng et al., USENIX ATC'23,
// section 6; "GPU Packing" in its artifact): keep idle nodes idle. A share
// goes first on a partly-used GPU (the tightest room), then on a free GPU of a
// node already in use, and only then on an idle node; whole GPUs go on a node
// already in use before an idle one. Among nodes in use the fewest free GPUs
// wins (the artifact leaves that tie to chance); among idle nodes the smallest.
class PackingPlacer final : public Placer {
 public:
  using Placer::Placer;
  std::string_view name() const override { return "packing"; }

 protected:
  std::optional<std::uint32_t> pick_node(const FleetState& state, const NodeNeed& need) override {
    std::optional<std::uint32_t> in_use, idle;
    // Buckets come lowest free count first: the first of each kind is the tightest.
    for_each_bucket(state, need,
                    [&](std::uint16_t cls, unsigned free, std::span<const std::uint32_t> nodes) {
                      if (free < state.classes()[cls].gpu_count) {
                        in_use = nodes.back();
                        return true;
                      }
                      if (!idle) idle = nodes.back();
                      return false;
                    });
    return in_use ? in_use : idle;
  }
  std::size_t pick_scope(std::span<const ScopeCandidate> c) override {
    return BestFitPlacer::tightest(c);
  }
  std::size_t pick_share(const FleetState& state, std::span<const ShareCandidate> c,
                         std::uint16_t) override {
    // Rank: 0 a partly-used GPU, 1 a free GPU on a node in use, 2 an idle node;
    // then the tightest room or node.
    auto rank = [&](const ShareCandidate& s) {
      const unsigned free = state.free_gpus(s.node);
      const unsigned kind = s.room < 1000                                    ? 0u
                            : free < state.fleet().nodes()[s.node].gpu_count ? 1u
                                                                             : 2u;
      return std::tuple{kind, s.room, free};
    };
    std::size_t best = 0;
    for (std::size_t i = 1; i < c.size(); ++i) {
      if (rank(c[i]) < rank(c[best])) best = i;
    }
    return best;
  }
};

constexpr std::array<std::string_view, 5> kNames{"best-fit", "first-fit", "random", "fgd",
                                                 "packing"};

}  // namespace

std::span<const std::string_view> placer_names() {
  return kNames;
}

Result<std::unique_ptr<Placer>> make_placer(std::string_view name, PlacerOptions options) {
  std::unique_ptr<Placer> p;
  if (name == "best-fit") p = std::make_unique<BestFitPlacer>(std::move(options));
  if (name == "first-fit") p = std::make_unique<FirstFitPlacer>(std::move(options));
  if (name == "random") p = std::make_unique<RandomPlacer>(std::move(options));
  if (name == "fgd") p = std::make_unique<FgdPlacer>(std::move(options));
  if (name == "packing") p = std::make_unique<PackingPlacer>(std::move(options));
  if (!p) {
    std::string known;
    for (std::string_view n : kNames) known += (known.empty() ? "" : ", ") + std::string(n);
    return Status::error("unknown placement policy '" + std::string(name) + "' (known: " + known +
                         ")");
  }
  return p;
}

}  // namespace flotilla
