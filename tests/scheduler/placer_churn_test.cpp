// Randomized churn on small fleets, every decision checked against a brute
// force that scans every node and every subtree: a GPU is never given twice,
// every limit of the request holds, the placement sits in the lowest subtree
// that can hold it, and (per policy) it is the node or subtree the policy
// promises. Everything given back restores the fresh state.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <map>
#include <random>
#include <set>

#include "scheduler/placer.h"
#include "tests/scheduler/test_fleets.h"

namespace flotilla {
namespace {

constexpr std::array kLevels{Level::kSwitch, Level::kSite, Level::kRegion, Level::kFleet};

std::uint32_t scope_at(const Fleet& f, std::uint32_t node, Level level) {
  switch (level) {
    case Level::kSwitch:
      return f.nodes()[node].switch_id;
    case Level::kSite:
      return f.site_of(node);
    case Level::kRegion:
      return f.region_of(node);
    default:
      return 0;
  }
}

// The reference: plain scans, no indexes.
struct BruteForce {
  const FleetState& state;
  const Fleet& fleet = state.fleet();

  bool usable(std::uint32_t n, GpuTypeId t, const PlacementRequest& r, unsigned g) const {
    const Node& node = fleet.nodes()[n];
    if (!state.is_up(n) || node.gpu_type != t) return false;
    if (r.exclusive) return state.is_idle(n) && node.gpu_count >= g;
    return state.free_gpus(n) >= std::max(g, 1u);
  }
  unsigned offer(std::uint32_t n, const PlacementRequest& r) const {
    return r.exclusive ? fleet.nodes()[n].gpu_count : state.free_gpus(n);
  }
  // Capacity of a set of nodes: usable nodes (per-node) or GPUs (packed, capped).
  std::uint64_t capacity(const std::vector<std::uint32_t>& nodes, GpuTypeId t,
                         const PlacementRequest& r) const {
    if (r.gpus_per_node > 0) {
      return static_cast<std::uint64_t>(std::count_if(
          nodes.begin(), nodes.end(), [&](auto n) { return usable(n, t, r, r.gpus_per_node); }));
    }
    std::vector<unsigned> offers;
    for (auto n : nodes) {
      if (usable(n, t, r, 0)) offers.push_back(offer(n, r));
    }
    std::sort(offers.rbegin(), offers.rend());
    if (r.nodes > 0 && offers.size() > r.nodes) offers.resize(r.nodes);
    std::uint64_t c = 0;
    for (unsigned o : offers) c += o;
    return c;
  }
  bool enough(std::uint64_t cap, const PlacementRequest& r) const {
    return r.gpus_per_node > 0 ? cap >= std::max(r.nodes, 1u) : cap >= r.total_gpus;
  }
  std::vector<std::uint32_t> nodes_in(Level level, std::uint32_t scope) const {
    std::vector<std::uint32_t> out;
    for (std::uint32_t n = 0; n < fleet.nodes().size(); ++n) {
      if (scope_at(fleet, n, level) == scope) out.push_back(n);
    }
    return out;
  }
  // Best capacity reachable with at most K switches of the subtree (all
  // subsets tried), or the whole subtree without a limit.
  std::uint64_t scope_capacity(Level level, std::uint32_t scope, GpuTypeId t,
                               const PlacementRequest& r) const {
    const std::vector<std::uint32_t> nodes = nodes_in(level, scope);
    if (!r.max_switches || level == Level::kSwitch) return capacity(nodes, t, r);
    std::vector<std::uint32_t> switches;
    for (auto n : nodes) switches.push_back(fleet.nodes()[n].switch_id);
    std::sort(switches.begin(), switches.end());
    switches.erase(std::unique(switches.begin(), switches.end()), switches.end());
    std::uint64_t best = 0;
    for (std::uint32_t subset = 1; subset < (1u << switches.size()); ++subset) {
      if (static_cast<unsigned>(std::popcount(subset)) > *r.max_switches) continue;
      std::vector<std::uint32_t> in;
      for (auto n : nodes) {
        const auto i =
            std::lower_bound(switches.begin(), switches.end(), fleet.nodes()[n].switch_id) -
            switches.begin();
        if (subset & (1u << i)) in.push_back(n);
      }
      best = std::max(best, capacity(in, t, r));
    }
    return best;
  }
  unsigned largest(GpuTypeId t) const {
    unsigned m = 0;
    for (const Node& n : fleet.nodes()) {
      if (n.gpu_type == t) m = std::max<unsigned>(m, n.gpu_count);
    }
    return m;
  }
  // Nodes that could hold the whole job alone.
  std::vector<std::uint32_t> single_nodes(GpuTypeId t, const PlacementRequest& r) const {
    const unsigned g = r.gpus_per_node > 0 ? r.gpus_per_node : r.total_gpus;
    std::vector<std::uint32_t> out;
    if (r.gpu_milli < 1000) {
      for (std::uint32_t n = 0; n < fleet.nodes().size(); ++n) {
        const Node& node = fleet.nodes()[n];
        if (!state.is_up(n) || node.gpu_type != t) continue;
        bool room = state.free_gpus(n) > 0;
        for (unsigned i = 0; i < node.gpu_count; ++i) {
          const auto used = state.milli_used(node.first_gpu + i);
          if (used > 0 && 1000 - used >= r.gpu_milli) room = true;
        }
        if (room) out.push_back(n);
      }
      return out;
    }
    if (r.gpus_per_node == 0 && r.total_gpus > largest(t)) return out;
    if (r.gpus_per_node > 0 && r.nodes > 1) return out;
    for (std::uint32_t n = 0; n < fleet.nodes().size(); ++n) {
      if (usable(n, t, r, g)) out.push_back(n);
    }
    return out;
  }

  struct Expectation {
    GpuTypeId type;
    Level level;
    std::vector<std::uint32_t> single;              // feasible single nodes
    std::map<std::uint32_t, std::uint64_t> scopes;  // feasible scopes at `level`
  };
  std::optional<Expectation> expect(const PlacementRequest& r,
                                    const std::vector<GpuTypeId>& order) const {
    for (GpuTypeId t : order) {
      if (r.types.any() && !r.types.test(t)) continue;
      if (fleet.catalog().at(t).mem_gb < r.min_gpu_mem_gb) continue;
      if (auto single = single_nodes(t, r); !single.empty()) {
        return Expectation{t, Level::kNode, single, {}};
      }
      if (r.gpu_milli < 1000 || (r.gpus_per_node > 0 && r.nodes <= 1) || r.nodes == 1) continue;
      for (Level level : kLevels) {
        if (level > Level::kSwitch && r.max_switches && *r.max_switches <= 1) break;
        std::map<std::uint32_t, std::uint64_t> feasible;
        std::set<std::uint32_t> scopes;
        for (std::uint32_t n = 0; n < fleet.nodes().size(); ++n)
          scopes.insert(scope_at(fleet, n, level));
        for (std::uint32_t s : scopes) {
          if (std::uint64_t c = scope_capacity(level, s, t, r); enough(c, r)) feasible[s] = c;
        }
        if (!feasible.empty()) return Expectation{t, level, {}, feasible};
      }
    }
    return std::nullopt;
  }
};

PlacementRequest random_request(std::mt19937_64& rng) {
  auto pick = [&](unsigned n) { return static_cast<unsigned>(rng() % n); };
  PlacementRequest r;
  if (pick(2)) {
    for (const char* t : {"H100-SXM", "RTX4090", "A100-SXM-80GB"}) {
      if (pick(2)) r.types.set(testing::type_id(t));
    }
  }
  if (pick(10) == 0) r.min_gpu_mem_gb = 40;
  const unsigned sizes[] = {1, 2, 3, 4, 8};
  switch (pick(10)) {
    case 0:
    case 1:
    case 2:
    case 3:  // one node
      r.nodes = 1;
      r.gpus_per_node = sizes[pick(5)];
      break;
    case 4:
    case 5:  // several nodes, same count on each
      r.nodes = 2 + pick(3);
      r.gpus_per_node = sizes[pick(5)];
      break;
    case 6:
    case 7:  // free split, sometimes with a node cap
      r.nodes = pick(2) ? 0 : 1 + pick(4);
      r.gpus_per_node = 0;
      r.total_gpus = 1 + pick(20);
      break;
    case 8:  // a share of one GPU
      r.nodes = 1;
      r.gpu_milli = static_cast<std::uint16_t>(100 * (1 + pick(9)));
      break;
    default:  // whole nodes
      r.exclusive = true;
      r.nodes = 1 + pick(3);
      r.gpus_per_node = 1;
  }
  if (r.gpus_per_node > 0) r.total_gpus = r.nodes * r.gpus_per_node;
  if (r.nodes != 1 && pick(3) == 0) r.max_switches = 1 + pick(2);
  return r;
}

class ChurnTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ChurnTest, MatchesBruteForceOnRandomFleets) {
  const std::string policy = GetParam();
  int placed = 0, refused = 0, heuristic_misses = 0;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    Fleet fleet = testing::random_fleet(seed);
    FleetState state(fleet);
    PlacerOptions options;
    options.seed = seed;
    auto placer = std::move(make_placer(policy, options)).value();
    std::vector<GpuTypeId> order = fleet.gpu_types_present();
    std::stable_sort(order.begin(), order.end(), [&](GpuTypeId a, GpuTypeId b) {
      return cheapest_type_score(fleet, a) < cheapest_type_score(fleet, b);
    });
    std::vector<int> whole_owner(fleet.total_gpus(), -1);
    std::vector<int> share_sum(fleet.total_gpus(), 0);
    std::vector<std::optional<Placement>> held;
    std::mt19937_64 rng(seed * 7919);

    for (int step = 0; step < 300; ++step) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " step " + std::to_string(step));
      if (rng() % 50 == 0) {
        const auto n = static_cast<std::uint32_t>(rng() % fleet.nodes().size());
        state.set_up(n, !state.is_up(n));
      }
      if (!held.empty() && rng() % 100 < 45) {
        const std::size_t i = rng() % held.size();
        for (const NodeAlloc& a : held[i]->allocs) {
          for (unsigned g = 0; g < 16; ++g) {
            if (!(a.gpu_mask & (1u << g))) continue;
            const std::uint32_t gpu = fleet.nodes()[a.node].first_gpu + g;
            if (a.milli < 1000) {
              share_sum[gpu] -= a.milli;
            } else {
              whole_owner[gpu] = -1;
            }
          }
        }
        state.give_back(*held[i]);
        held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
        continue;
      }
      const PlacementRequest r = random_request(rng);
      BruteForce brute{state};
      const std::optional<BruteForce::Expectation> want = brute.expect(r, order);
      const std::optional<Placement> got = placer->choose(state, r);
      if (Placer::is_free_split(r)) {
        // free_split_type() names the type choose() uses, without placing.
        const std::optional<GpuTypeId> type = placer->free_split_type(state, r);
        ASSERT_EQ(type.has_value(), got.has_value());
        if (got) {
          ASSERT_EQ(*type, got->gpu_type);
        }
      }
      // Free split with both a node cap and a switch limit uses a greedy
      // choice of switches (placer.h); there the placer may only refuse more.
      const bool greedy_case = r.gpus_per_node == 0 && r.nodes > 1 && r.max_switches;
      if (greedy_case && want && (!got || got->gpu_type != want->type)) {
        ++heuristic_misses;
        ASSERT_TRUE(!got || std::find(order.begin(), order.end(), got->gpu_type) >
                                std::find(order.begin(), order.end(), want->type));
        if (!got) continue;
      } else {
        ASSERT_EQ(got.has_value(), want.has_value());
      }
      if (!got) {
        ++refused;
        continue;
      }
      ++placed;
      const Placement& p = *got;
      if (!greedy_case) {
        ASSERT_EQ(p.gpu_type, want->type);
      }

      // Limits of the request.
      std::set<std::uint32_t> nodes, switches;
      unsigned whole = 0;
      for (const NodeAlloc& a : p.allocs) {
        const Node& node = fleet.nodes()[a.node];
        ASSERT_TRUE(nodes.insert(a.node).second) << "node used twice";
        switches.insert(node.switch_id);
        ASSERT_EQ(node.gpu_type, p.gpu_type);
        ASSERT_TRUE(r.types.none() || r.types.test(node.gpu_type));
        ASSERT_GE(fleet.catalog().at(node.gpu_type).mem_gb, r.min_gpu_mem_gb);
        ASSERT_TRUE(state.is_up(a.node));
        if (r.exclusive) {
          ASSERT_TRUE(state.is_idle(a.node));
          ASSERT_EQ(a.gpu_mask, (1u << node.gpu_count) - 1);
        } else if (r.gpus_per_node > 0) {
          ASSERT_EQ(std::popcount(a.gpu_mask), static_cast<int>(r.gpus_per_node));
        }
        if (a.milli == 1000) whole += static_cast<unsigned>(std::popcount(a.gpu_mask));
      }
      if (r.gpu_milli < 1000) {
        ASSERT_EQ(p.allocs.size(), 1u);
        ASSERT_EQ(std::popcount(p.allocs[0].gpu_mask), 1);
        ASSERT_EQ(p.allocs[0].milli, r.gpu_milli);
      } else if (r.gpus_per_node > 0) {
        ASSERT_EQ(p.allocs.size(), std::max(r.nodes, 1u));
      } else {
        ASSERT_EQ(whole, r.total_gpus);
        if (r.nodes > 0) {
          ASSERT_LE(p.allocs.size(), r.nodes);
        }
      }
      if (r.max_switches) {
        ASSERT_LE(switches.size(), *r.max_switches);
      }

      // The lowest feasible subtree, and the policy's own promise.
      Level used = Level::kNode;
      for (const NodeAlloc& a : p.allocs)
        used = std::max(used, fleet.common_level(p.allocs[0].node, a.node));
      ASSERT_EQ(p.level, used);
      if (!greedy_case) {
        ASSERT_EQ(p.level, want->level) << "not the lowest subtree that holds the job";
        if (p.level == Level::kNode && r.gpu_milli == 1000) {
          const std::uint32_t n = p.allocs[0].node;
          if (policy == "best-fit") {
            for (std::uint32_t other : want->single) {
              ASSERT_LE(brute.offer(n, r), brute.offer(other, r)) << "not the tightest node";
            }
          }
          if (policy == "first-fit") {
            ASSERT_EQ(n, want->single.front());
          }
          if (policy == "packing") {
            // A node already in use before an idle one; the tightest of its kind.
            auto in_use = [&](std::uint32_t m) {
              return !r.exclusive && state.free_gpus(m) < fleet.nodes()[m].gpu_count;
            };
            const bool any_in_use = std::any_of(want->single.begin(), want->single.end(), in_use);
            ASSERT_EQ(in_use(n), any_in_use) << "an idle node taken while one in use fits";
            for (std::uint32_t other : want->single) {
              if (in_use(other) == any_in_use) {
                ASSERT_LE(brute.offer(n, r), brute.offer(other, r)) << "not the tightest node";
              }
            }
          }
          // NVLink: a domain that could hold the job alone is not split.
          const Node& node = fleet.nodes()[n];
          const unsigned d = node.nvlink_domain_size;
          if (!r.exclusive && d > 1 && r.gpus_per_node > 0 && r.gpus_per_node <= d) {
            bool one_domain_fits = false, inside_one = false;
            for (unsigned k = 0; k < node.gpu_count / d; ++k) {
              const unsigned dm = ((1u << d) - 1) << (k * d);
              if (std::popcount(state.free_mask(n) & dm) >= static_cast<int>(r.gpus_per_node))
                one_domain_fits = true;
              if ((p.allocs[0].gpu_mask & ~dm) == 0) inside_one = true;
            }
            if (one_domain_fits) {
              ASSERT_TRUE(inside_one) << "NVLink domain split needlessly";
            }
          }
        } else if (p.level > Level::kNode) {
          const std::uint32_t scope = scope_at(fleet, p.allocs[0].node, p.level);
          ASSERT_TRUE(want->scopes.count(scope));
          if (policy == "best-fit" || policy == "fgd" || policy == "packing") {
            for (const auto& [s, cap] : want->scopes) {
              ASSERT_LE(want->scopes.at(scope), cap) << "not the tightest subtree";
            }
          }
          if (policy == "first-fit") {
            ASSERT_EQ(scope, want->scopes.begin()->first);
          }
        }
      }

      // Packing puts a share on a partly-used GPU whenever one has room.
      if (policy == "packing" && r.gpu_milli < 1000) {
        bool partly_used_fits = false;
        for (std::uint32_t n : want->single) {
          const Node& node = fleet.nodes()[n];
          for (unsigned g = 0; g < node.gpu_count; ++g) {
            const auto used = state.milli_used(node.first_gpu + g);
            if (used > 0 && 1000 - used >= r.gpu_milli) partly_used_fits = true;
          }
        }
        const NodeAlloc& a = p.allocs[0];
        const std::uint32_t gpu =
            fleet.nodes()[a.node].first_gpu + static_cast<unsigned>(std::countr_zero(a.gpu_mask));
        ASSERT_EQ(state.milli_used(gpu) > 0, partly_used_fits) << "share not packed";
      }

      // Never the same GPU twice, shares never past one GPU.
      for (const NodeAlloc& a : p.allocs) {
        for (unsigned g = 0; g < 16; ++g) {
          if (!(a.gpu_mask & (1u << g))) continue;
          const std::uint32_t gpu = fleet.nodes()[a.node].first_gpu + g;
          ASSERT_EQ(whole_owner[gpu], -1) << "GPU given twice";
          if (a.milli < 1000) {
            share_sum[gpu] += a.milli;
            ASSERT_LE(share_sum[gpu], 1000);
          } else {
            ASSERT_EQ(share_sum[gpu], 0) << "whole GPU given while shared";
            whole_owner[gpu] = step;
          }
        }
      }
      state.take(p);
      held.push_back(p);
    }
    for (const auto& p : held) state.give_back(*p);
    FleetState fresh(fleet);
    for (std::uint32_t n = 0; n < fleet.nodes().size(); ++n) {
      ASSERT_EQ(state.free_mask(n), fresh.free_mask(n));
    }
    for (std::uint32_t g = 0; g < fleet.total_gpus(); ++g) ASSERT_EQ(state.milli_used(g), 0);
  }
  // The churn must exercise both outcomes, or it checks nothing.
  EXPECT_GT(placed, 2000);
  EXPECT_GT(refused, 100);
  std::printf("%s: %d placed, %d refused, %d greedy-switch refusals\n", policy.c_str(), placed,
              refused, heuristic_misses);
}

INSTANTIATE_TEST_SUITE_P(Policies, ChurnTest,
                         ::testing::Values("best-fit", "first-fit", "random", "fgd", "packing"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace flotilla
