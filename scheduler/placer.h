// Placement policies: given the fleet's free state and a request, choose GPUs.
//
// Every policy shares one procedure (Placer::choose), and differs only in the
// choices it is asked to make:
//  1. GPU type: acceptable types are tried in TypeScorer order (default: the
//     cheapest per GPU-hour in this fleet); a job's GPUs are all of one type.
//  2. One node: pick_node() among nodes with enough free GPUs; inside the node
//     GPUs are taken so that NVLink/P2P domains stay whole.
//  3. Several nodes: the lowest level (switch, site, region, fleet) where one
//     subtree can hold the job, as Slurm's topology/tree and Kueue's TAS do;
//     pick_scope() chooses among the feasible subtrees of that level; inside
//     it, nodes come from as few switches as possible (at most --switches),
//     taken in order_nodes() order.
//  4. A share of one GPU: pick_share().
// choose() only decides; FleetState::take() applies the decision. A Placer is
// not thread-safe (policies may keep a random generator); use one per thread.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string_view>
#include <vector>

#include "scheduler/fleet_state.h"
#include "scheduler/fragmentation.h"
#include "scheduler/placement.h"
#include "scheduler/request.h"
#include "scheduler/status.h"

namespace flotilla {

// Scores a GPU type for a request; acceptable types are tried lowest first.
using TypeScorer = std::function<double(const Fleet&, GpuTypeId)>;
// Mean price per GPU-hour of the type's nodes in this fleet.
double cheapest_type_score(const Fleet& fleet, GpuTypeId type);

struct PlacerOptions {
  std::uint64_t seed = 0;                                // for "random" and tie-breaking
  std::vector<TaskShape> workload = default_workload();  // for "fgd"
  TypeScorer type_scorer = cheapest_type_score;
};

class Placer {
 public:
  explicit Placer(PlacerOptions options);
  virtual ~Placer() = default;
  virtual std::string_view name() const = 0;

  // GPUs for `request` in `state`, or nullopt when it cannot be placed now.
  // Does not change `state`.
  std::optional<Placement> choose(const FleetState& state, const PlacementRequest& request);

  // A free split: whole GPUs on as few nodes as hold them, no node count, GPUs
  // per node, exclusivity or switch limit. Such a request fits a GPU type
  // exactly when the type's up nodes have that many free GPUs, so which type
  // choose() would use is known without placing it.
  static bool is_free_split(const PlacementRequest& request);
  // For a free split: the type choose() would place it on, or nullopt when
  // choose() would find no room. Costs a look at each acceptable type.
  std::optional<GpuTypeId> free_split_type(const FleetState& state,
                                           const PlacementRequest& request);
  // True when choose() draws random numbers, so that skipping a call (as
  // free_split_type() allows) would change later choices.
  virtual bool randomized() const { return false; }

 protected:
  // Up nodes of one GPU type that could host `gpus` GPUs of one job.
  struct NodeNeed {
    std::span<const std::uint16_t> classes;
    unsigned gpus = 1;
    bool exclusive = false;  // the node must be idle
  };
  // A subtree that can hold the job; capacity is its usable nodes (one GPU
  // count per node) or usable GPUs (free split), whichever the job needs.
  struct ScopeCandidate {
    std::uint32_t scope = 0;
    std::uint64_t capacity = 0;
  };
  struct ShareCandidate {
    std::uint32_t node = 0;
    unsigned gpu = 0;        // index inside the node
    std::uint16_t room = 0;  // thousandths free on it (1000: a whole free GPU)
  };

  virtual std::optional<std::uint32_t> pick_node(const FleetState& state, const NodeNeed& need) = 0;
  virtual std::size_t pick_scope(std::span<const ScopeCandidate> candidates) = 0;
  // Orders nodes of one switch before they are taken; default: fewest free first.
  virtual void order_nodes(const FleetState& state, std::vector<std::uint32_t>& nodes);
  // Chooses where a share of `milli` goes among GPUs with room for it: partly
  // used GPUs and one whole free GPU per (class, free count) bucket (room 1000).
  // Default: the tightest room.
  virtual std::size_t pick_share(const FleetState& state, std::span<const ShareCandidate> shared,
                                 std::uint16_t milli);

  // Helpers for policies.
  std::mt19937_64& rng() { return rng_; }
  const PlacerOptions& options() const { return options_; }
  // Calls fn(cls, free, nodes) for every non-empty bucket that satisfies `need`,
  // lowest free count first, until fn returns true.
  template <class Fn>
  static void for_each_bucket(const FleetState& state, const NodeNeed& need, Fn&& fn);

 private:
  struct Shape;
  std::optional<Placement> place_type(const FleetState& state, const PlacementRequest& request,
                                      GpuTypeId type);
  std::optional<Placement> place_one_node(const FleetState& state, const Shape& shape);
  std::optional<Placement> place_share(const FleetState& state, const Shape& shape);
  std::optional<Placement> place_nodes(const FleetState& state, const Shape& shape);
  std::optional<Placement> take_nodes(const FleetState& state, const Shape& shape,
                                      std::span<const std::uint32_t> switches);
  // A type in the order choose() tries them, with its memory at hand: the
  // catalog entry itself is far away, and backfill asks for every job it
  // looks at.
  struct TypeChoice {
    GpuTypeId type;
    double mem_gb;
    bool accepts(const PlacementRequest& r) const {
      return (r.types.none() || r.types.test(type)) && mem_gb >= r.min_gpu_mem_gb;
    }
  };
  std::span<const TypeChoice> type_order(const Fleet& fleet);

  // Scratch space of place_nodes, kept to spare allocations on a hot path.
  // A switch's offer is small, since a multi-node placement may list
  // hundreds; its histogram, which a free split never needs, lies apart.
  struct SwitchOffer {
    std::uint32_t sw;
    std::uint64_t capacity;
    std::uint32_t hist;  // this job's view of the switch: hists_[hist]
  };
  std::vector<SwitchOffer> offers_, merged_;
  std::vector<std::array<std::uint32_t, kFreeSlots>> hists_;
  std::vector<ScopeCandidate> candidates_;
  std::vector<std::pair<std::size_t, std::size_t>> groups_;
  std::vector<std::uint32_t> order_;

  PlacerOptions options_;
  std::mt19937_64 rng_;
  const Fleet* ordered_for_ = nullptr;
  std::vector<TypeChoice> type_order_;
};

// Policies by name: "best-fit", "first-fit", "random", "fgd", "packing".
Result<std::unique_ptr<Placer>> make_placer(std::string_view name, PlacerOptions options = {});
std::span<const std::string_view> placer_names();

// GPUs to take on a node with free mask `free`: keeps NVLink/P2P domains of
// `domain_size` whole (the tightest domain that holds the job, else whole
// domains first). Needs popcount(free) >= gpus.
std::uint16_t pick_gpus(std::uint16_t free, unsigned gpus, unsigned domain_size,
                        unsigned gpu_count);

template <class Fn>
void Placer::for_each_bucket(const FleetState& state, const NodeNeed& need, Fn&& fn) {
  // Free counts with a non-empty bucket in any class, at least need.gpus.
  std::uint32_t present = 0;
  for (std::uint16_t cls : need.classes) {
    std::uint32_t m = state.bucket_mask(cls);
    // An exclusive job wants idle nodes: those whose free count is their size.
    if (need.exclusive) m &= 1u << state.classes()[cls].gpu_count;
    present |= m;
  }
  const unsigned least = std::max(need.gpus, 1u);
  if (least > kMaxGpusPerNode) return;
  present &= ~((1u << least) - 1);  // drop free counts below what the job needs
  while (present != 0) {
    const unsigned f = static_cast<unsigned>(std::countr_zero(present));
    present &= present - 1;
    for (std::uint16_t cls : need.classes) {
      if (need.exclusive && state.classes()[cls].gpu_count != f) continue;
      auto nodes = state.bucket(cls, f);
      if (!nodes.empty() && fn(cls, f, nodes)) return;
    }
  }
}

}  // namespace flotilla
