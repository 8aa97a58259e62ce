#include "scheduler/placer.h"

#include <gtest/gtest.h>

#include <bit>

#include "tests/scheduler/test_fleets.h"

namespace flotilla {
namespace {

using testing::add_nodes;
using testing::built;
using testing::node_of;
using testing::type_id;

std::unique_ptr<Placer> placer(const char* name, std::uint64_t seed = 1) {
  PlacerOptions o;
  o.seed = seed;
  return std::move(make_placer(name, std::move(o))).value();
}

PlacementRequest gpus_on_one_node(unsigned g) {
  return PlacementRequest{.nodes = 1, .gpus_per_node = g, .total_gpus = g};
}

// One site, two switches: sw0 has two 8xH100 boxes, sw1 has four 4090 homes
// with 1, 2, 3 and 4 cards.
Fleet two_switch_fleet() {
  FleetBuilder b("two-switch");
  b.add_region("r", Link{1, 80000});
  b.add_site("dc", Link{100, 1000});
  b.add_switch("sw0", Link{400, 5});
  add_nodes(b, "hgx", 2, node_of("H100-SXM", 8, 8));
  b.add_switch("sw1", Link{25, 20});
  for (unsigned g = 1; g <= 4; ++g)
    add_nodes(b, "home" + std::to_string(g), 1, node_of("RTX4090", g));
  return built(b);
}

TEST(Placer, BestFitTakesTheNodeWithFewestFreeGpusAndTheCheapestType) {
  Fleet fleet = two_switch_fleet();
  FleetState state(fleet);
  auto p = placer("best-fit")->choose(state, gpus_on_one_node(1));
  ASSERT_TRUE(p);
  // The 4090 is the cheapest type; home1 (one card) is the tightest fit.
  EXPECT_EQ(fleet.node_name(p->allocs[0].node), "home1-0");
  EXPECT_EQ(p->gpu_type, type_id("RTX4090"));
  EXPECT_EQ(p->level, Level::kNode);

  auto three = placer("best-fit")->choose(state, gpus_on_one_node(3));
  ASSERT_TRUE(three);
  EXPECT_EQ(fleet.node_name(three->allocs[0].node), "home3-0");
}

TEST(Placer, TypeAndMemoryLimitsAreRespected) {
  Fleet fleet = two_switch_fleet();
  FleetState state(fleet);
  PlacementRequest r = gpus_on_one_node(1);
  r.types.set(type_id("H100-SXM"));
  auto p = placer("best-fit")->choose(state, r);
  ASSERT_TRUE(p);
  EXPECT_EQ(fleet.nodes()[p->allocs[0].node].gpu_type, type_id("H100-SXM"));

  PlacementRequest big_memory = gpus_on_one_node(1);
  big_memory.min_gpu_mem_gb = 40;  // rules out the 24 GB 4090
  auto q = placer("best-fit")->choose(state, big_memory);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->gpu_type, type_id("H100-SXM"));

  big_memory.min_gpu_mem_gb = 100;  // nothing has 100 GB
  EXPECT_FALSE(placer("best-fit")->choose(state, big_memory));
}

TEST(Placer, NvlinkDomainsStayWhole) {
  FleetBuilder b("nvlink");
  b.add_region("r", Link{1, 1});
  b.add_site("s", Link{1, 1});
  b.add_switch("w", Link{1, 1});
  add_nodes(b, "box", 1, node_of("A100-SXM-80GB", 8, 4));  // two domains of four
  Fleet fleet = built(b);
  FleetState state(fleet);
  auto bf = placer("best-fit");

  // Hold GPU 0, so domain 0 has 3 free and domain 1 has 4.
  state.take(Placement{.allocs = {{0, 0b1, 1000}}});
  auto two = bf->choose(state, gpus_on_one_node(2));
  ASSERT_TRUE(two);
  EXPECT_EQ(two->allocs[0].gpu_mask, 0b0110) << "the tighter domain, not a split";
  state.take(*two);
  auto four = bf->choose(state, gpus_on_one_node(4));
  ASSERT_TRUE(four);
  EXPECT_EQ(four->allocs[0].gpu_mask, 0b1111'0000) << "a whole domain";
}

TEST(PickGpus, SpansDomainsEmptiestFirstWhenNoneHoldsTheJob) {
  // Domains of two: free GPUs 0, 2, 3, 5 -> domain 1 (GPUs 2, 3) is whole.
  EXPECT_EQ(pick_gpus(0b101101, 3, 2, 6), 0b001101);
  EXPECT_EQ(pick_gpus(0b101101, 2, 2, 6), 0b001100);
  // No P2P at all: lowest free GPUs.
  EXPECT_EQ(pick_gpus(0b1010, 2, 1, 4), 0b1010);
}

TEST(Placer, MultiNodeJobsUseTheLowestSubtreeAndHonourSwitches) {
  // Two switches in one site, each with two idle 8-GPU boxes.
  FleetBuilder b("pods");
  b.add_region("r", Link{1, 1});
  b.add_site("s", Link{100, 100});
  for (int w = 0; w < 2; ++w) {
    b.add_switch("w" + std::to_string(w), Link{400, 5});
    add_nodes(b, "w" + std::to_string(w) + "n", 2, node_of("H100-SXM", 8, 8));
  }
  Fleet fleet = built(b);
  FleetState state(fleet);
  auto bf = placer("best-fit");

  PlacementRequest two_boxes{.nodes = 2, .gpus_per_node = 8, .total_gpus = 16};
  auto p = bf->choose(state, two_boxes);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->level, Level::kSwitch);
  EXPECT_EQ(fleet.nodes()[p->allocs[0].node].switch_id, fleet.nodes()[p->allocs[1].node].switch_id);

  // Take one GPU on each switch: no switch can hold two whole boxes now.
  state.take(Placement{.allocs = {{0, 1, 1000}}});
  state.take(Placement{.allocs = {{2, 1, 1000}}});
  two_boxes.max_switches = 1;
  EXPECT_FALSE(bf->choose(state, two_boxes)) << "--switches=1 cannot be met";
  two_boxes.max_switches.reset();
  auto spread = bf->choose(state, two_boxes);
  ASSERT_TRUE(spread);
  EXPECT_EQ(spread->level, Level::kSite);
}

TEST(Placer, ExclusiveTakesWholeIdleNodes) {
  Fleet fleet = two_switch_fleet();
  FleetState state(fleet);
  state.take(Placement{.allocs = {{0, 1, 1000}}});  // hgx-0 is in use
  PlacementRequest r = gpus_on_one_node(2);
  r.types.set(type_id("H100-SXM"));
  r.exclusive = true;
  auto p = placer("best-fit")->choose(state, r);
  ASSERT_TRUE(p);
  EXPECT_EQ(fleet.node_name(p->allocs[0].node), "hgx-1");
  EXPECT_EQ(p->allocs[0].gpu_mask, 0xff);
  EXPECT_EQ(p->gpus(), 8u);
  state.take(*p);
  EXPECT_FALSE(placer("best-fit")->choose(state, r));
}

TEST(Placer, FreeSplitPacksOntoFewestNodes) {
  Fleet fleet = two_switch_fleet();
  FleetState state(fleet);
  PlacementRequest r{.nodes = 0, .gpus_per_node = 0, .total_gpus = 6};
  r.types.set(type_id("RTX4090"));
  auto p = placer("best-fit")->choose(state, r);
  ASSERT_TRUE(p);
  // 4 + 2 (the last piece on the tightest node that holds it), not 4 + 1 + 1.
  ASSERT_EQ(p->allocs.size(), 2u);
  EXPECT_EQ(fleet.node_name(p->allocs[0].node), "home4-0");
  EXPECT_EQ(fleet.node_name(p->allocs[1].node), "home2-0");
  EXPECT_EQ(p->gpus(), 6u);
  EXPECT_EQ(p->level, Level::kSwitch);
}

TEST(Placer, SharesFillPartlyUsedGpusFirst) {
  Fleet fleet = two_switch_fleet();
  FleetState state(fleet);
  auto bf = placer("best-fit");
  PlacementRequest half{.nodes = 1, .gpus_per_node = 0, .total_gpus = 1, .gpu_milli = 500};
  auto a = bf->choose(state, half);
  ASSERT_TRUE(a);
  state.take(*a);
  auto b = bf->choose(state, half);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->allocs[0].node, a->allocs[0].node);
  EXPECT_EQ(b->allocs[0].gpu_mask, a->allocs[0].gpu_mask) << "same GPU, now full";
  state.take(*b);
  const std::uint32_t gpu =
      fleet.nodes()[a->allocs[0].node].first_gpu + std::countr_zero(a->allocs[0].gpu_mask);
  EXPECT_EQ(state.milli_used(gpu), 1000);
  auto c = bf->choose(state, half);
  ASSERT_TRUE(c);
  EXPECT_NE(fleet.nodes()[c->allocs[0].node].first_gpu + std::countr_zero(c->allocs[0].gpu_mask),
            gpu);
  state.give_back(*a);
  EXPECT_EQ(state.milli_used(gpu), 500);
}

TEST(FleetState, GiveBackRestoresExactlyWhatWasTaken) {
  Fleet fleet = two_switch_fleet();
  FleetState fresh(fleet);
  FleetState state(fleet);
  auto bf = placer("best-fit");
  std::vector<Placement> held;
  for (PlacementRequest r : {gpus_on_one_node(1), gpus_on_one_node(8), gpus_on_one_node(2),
                             PlacementRequest{.nodes = 1, .total_gpus = 1, .gpu_milli = 300}}) {
    auto p = bf->choose(state, r);
    ASSERT_TRUE(p);
    state.take(*p);
    held.push_back(*p);
  }
  EXPECT_LT(state.free_whole_gpus(), fresh.free_whole_gpus());
  for (auto it = held.rbegin(); it != held.rend(); ++it) state.give_back(*it);
  for (std::uint32_t n = 0; n < fleet.nodes().size(); ++n) {
    EXPECT_EQ(state.free_mask(n), fresh.free_mask(n));
  }
  for (std::uint32_t g = 0; g < fleet.total_gpus(); ++g) EXPECT_EQ(state.milli_used(g), 0);
  EXPECT_EQ(state.free_whole_gpus(), fresh.free_whole_gpus());
  for (std::uint16_t c = 0; c < state.classes().size(); ++c) {
    for (unsigned f = 0; f < kFreeSlots; ++f) {
      EXPECT_EQ(state.bucket(c, f).size(), fresh.bucket(c, f).size());
    }
  }
}

TEST(FleetState, RefusesToTakeWhatIsHeldAndLeavesNoTrace) {
  Fleet fleet = two_switch_fleet();
  FleetState state(fleet);
  state.take(Placement{.allocs = {{0, 0b11, 1000}}});
  // GPU 2 is free, GPU 1 is not: nothing of the placement may be taken.
  EXPECT_THROW(state.take(Placement{.allocs = {{0, 0b110, 1000}}}), std::logic_error);
  EXPECT_EQ(state.free_mask(0), 0xfc);
  EXPECT_THROW(state.give_back(Placement{.allocs = {{0, 0b100, 1000}}}), std::logic_error);
}

TEST(FleetState, DownNodesOfferNothing) {
  Fleet fleet = two_switch_fleet();
  FleetState state(fleet);
  const std::uint32_t home1 = *fleet.find_node("home1-0");
  state.set_up(home1, false);
  auto p = placer("best-fit")->choose(state, gpus_on_one_node(1));
  ASSERT_TRUE(p);
  EXPECT_NE(p->allocs[0].node, home1);
  state.set_up(home1, true);
  EXPECT_EQ(placer("best-fit")->choose(state, gpus_on_one_node(1))->allocs[0].node, home1);
}

TEST(Placer, FirstFitTakesTheLowestNode) {
  Fleet fleet = two_switch_fleet();
  FleetState state(fleet);
  PlacementRequest r = gpus_on_one_node(2);
  r.types.set(type_id("RTX4090"));
  auto p = placer("first-fit")->choose(state, r);
  ASSERT_TRUE(p);
  EXPECT_EQ(fleet.node_name(p->allocs[0].node), "home2-0");
}

TEST(Placer, RandomIsDeterministicForASeed) {
  Fleet fleet = testing::random_fleet(7);
  auto run = [&](std::uint64_t seed) {
    FleetState state(fleet);
    auto rp = placer("random", seed);
    std::vector<std::uint32_t> nodes;
    for (int i = 0; i < 20; ++i) {
      auto p = rp->choose(state, gpus_on_one_node(1));
      if (!p) break;
      state.take(*p);
      nodes.push_back(p->allocs[0].node);
    }
    return nodes;
  };
  EXPECT_EQ(run(3), run(3));
  EXPECT_FALSE(run(3).empty());
}

TEST(Placer, FgdPutsAShareWhereFragmentationGrowsLeast) {
  // Two 2-GPU nodes; one GPU of node 0 is half used. A new half share should
  // go on that GPU (no new fragment), and with a whole-GPU-heavy workload FGD
  // must not cut into node 1's two whole GPUs.
  FleetBuilder b("fgd");
  b.add_region("r", Link{1, 1});
  b.add_site("s", Link{1, 1});
  b.add_switch("w", Link{1, 1});
  add_nodes(b, "n", 2, node_of("A10", 2));
  Fleet fleet = built(b);
  FleetState state(fleet);
  state.take(Placement{.allocs = {{0, 0b01, 500}}});
  auto fgd = placer("fgd");
  auto p = fgd->choose(state, PlacementRequest{.nodes = 1, .total_gpus = 1, .gpu_milli = 500});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->allocs[0].node, 0u);
  EXPECT_EQ(p->allocs[0].gpu_mask, 0b01);
}

TEST(Placer, UnknownPolicyIsAnError) {
  Result<std::unique_ptr<Placer>> p = make_placer("worst-fit");
  ASSERT_FALSE(p);
  EXPECT_EQ(
      p.message(),
      "unknown placement policy 'worst-fit' (known: best-fit, first-fit, random, fgd, packing)");
}

}  // namespace
}  // namespace flotilla
