// The FGD arrival experiment on fleets small enough to work out by hand.
#include "simulator/fragmentation_experiment.h"

#include <gtest/gtest.h>

#include "tests/scheduler/test_fleets.h"

namespace flotilla {
namespace {

using testing::add_nodes;
using testing::built;
using testing::node_of;
using testing::type_id;

Fleet fleet_of(unsigned nodes, unsigned gpus) {
  FleetBuilder b("small");
  b.add_region("r", Link{1, 1});
  b.add_site("s", Link{1, 1});
  b.add_switch("w", Link{100, 1});
  add_nodes(b, "n", nodes, node_of("RTX4090", gpus));
  return built(b);
}

TraceJob pod(std::uint32_t gpus, std::uint16_t milli, GpuTypeSet types = {}) {
  TraceJob j;
  j.shape = PlacementRequest{.total_gpus = gpus, .gpu_milli = milli, .types = types};
  return j;
}

std::unique_ptr<Placer> placer(const char* name) {
  return std::move(make_placer(name, {})).value();
}

TEST(RunArrivals, SharesThatStrandHalfTheCapacity) {
  // One 2-GPU node, every pod 0.6 of a GPU: the first two take one GPU each,
  // 0.4 is left on each and no later pod fits. Arrivals 0.6, 1.2, 1.8, 2.4
  // (capacity reached), 3.0 (past 1.3 x 2 = 2.6, the end).
  const Fleet fleet = fleet_of(1, 2);
  Trace pods;
  pods.jobs = {pod(1, 600)};
  for (const char* policy : {"random", "best-fit", "packing", "fgd"}) {
    SCOPED_TRACE(policy);
    auto p = placer(policy);
    Result<FragmentationRun> run =
        run_arrivals(fleet, pods, *p, {.seed = 7, .arrive_until = 1.3, .curve_step = 0.25});
    ASSERT_TRUE(run) << run.message();
    EXPECT_EQ(run->policy, policy);
    EXPECT_EQ(run->total_gpus, 2u);
    EXPECT_EQ(run->arrived_tasks, 4u);
    EXPECT_EQ(run->placed_tasks, 2u);
    EXPECT_EQ(run->failed_tasks, 2u);
    EXPECT_DOUBLE_EQ(run->arrived_gpus, 2.4);
    EXPECT_DOUBLE_EQ(run->allocated_gpus, 1.2);
    EXPECT_DOUBLE_EQ(run->allocation_ratio(), 0.6);
    EXPECT_DOUBLE_EQ(run->unallocated_gpus(), 0.8);
    // One point per 0.25 of capacity crossed: 0.3, 0.6, 0.9, 1.2, 1.5.
    ASSERT_EQ(run->curve.size(), 5u);
    const double arrived[] = {0.3, 0.6, 0.9, 1.2, 1.5};
    const double allocated[] = {0.3, 0.6, 0.6, 0.6, 0.6};
    for (std::size_t i = 0; i < 5; ++i) {
      EXPECT_DOUBLE_EQ(run->curve[i].arrived, arrived[i]) << i;
      EXPECT_DOUBLE_EQ(run->curve[i].allocated, allocated[i]) << i;
    }
  }
}

TEST(RunArrivals, HalvesFillTheFleetAndSeedsRepeat) {
  const Fleet fleet = fleet_of(2, 2);
  Trace pods;
  pods.jobs = {pod(1, 500), pod(2, 1000)};
  // Every pod 0.5: two per GPU, eight pods fill the fleet whatever the policy.
  Trace halves;
  halves.jobs = {pod(1, 500)};
  for (const char* policy : {"random", "best-fit", "packing", "fgd"}) {
    SCOPED_TRACE(policy);
    auto p = placer(policy);
    Result<FragmentationRun> run = run_arrivals(fleet, halves, *p);
    ASSERT_TRUE(run) << run.message();
    EXPECT_EQ(run->arrived_tasks, 8u);
    EXPECT_EQ(run->placed_tasks, 8u);
    EXPECT_DOUBLE_EQ(run->allocation_ratio(), 1.0);
    EXPECT_DOUBLE_EQ(run->unallocated_gpus(), 0.0);
  }
  // The same seed draws the same pods for every policy, and the same run twice
  // gives the same curve.
  auto a = placer("packing"), b = placer("packing");
  Result<FragmentationRun> r1 = run_arrivals(fleet, pods, *a, {.seed = 3});
  Result<FragmentationRun> r2 = run_arrivals(fleet, pods, *b, {.seed = 3});
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(r1->arrived_tasks, r2->arrived_tasks);
  ASSERT_EQ(r1->curve.size(), r2->curve.size());
  for (std::size_t i = 0; i < r1->curve.size(); ++i) {
    EXPECT_EQ(r1->curve[i].arrived, r2->curve[i].arrived);
    EXPECT_EQ(r1->curve[i].allocated, r2->curve[i].allocated);
  }
}

TEST(RunArrivals, SharesThatStrandAFifthOfEachGpu) {
  // 0.4 shares on two 1-GPU nodes: each GPU holds two (0.8) and strands 0.2.
  // Arrivals 0.4 .. 2.0 (five pods), four placed whatever the policy.
  const Fleet fleet = fleet_of(2, 1);
  Trace pods;
  pods.jobs = {pod(1, 400)};
  for (const char* policy : {"random", "best-fit", "packing", "fgd"}) {
    SCOPED_TRACE(policy);
    auto p = placer(policy);
    Result<FragmentationRun> run = run_arrivals(fleet, pods, *p);
    ASSERT_TRUE(run) << run.message();
    EXPECT_EQ(run->arrived_tasks, 5u);
    EXPECT_EQ(run->placed_tasks, 4u);
    EXPECT_DOUBLE_EQ(run->allocated_gpus, 1.6);
    EXPECT_NEAR(run->unallocated_gpus(), 0.4, 1e-12);
  }
}

TEST(RunArrivals, Errors) {
  const Fleet fleet = fleet_of(1, 2);
  auto p = placer("fgd");
  EXPECT_FALSE(run_arrivals(fleet, Trace{}, *p));
  Trace pods;
  pods.jobs = {pod(1, 1000)};
  EXPECT_FALSE(run_arrivals(fleet, pods, *p, {.arrive_until = 0}));
  EXPECT_FALSE(run_arrivals(fleet, pods, *p, {.curve_step = -1}));
}

TEST(TraceWorkload, OneShapePerDistinctRequestWeightedByCount) {
  GpuTypeSet v100;
  v100.set(type_id("V100M32"));
  Trace t;
  t.jobs = {pod(1, 500), pod(1, 1000), pod(1, 500), pod(8, 1000), pod(1, 500, v100)};
  const std::vector<TaskShape> w = trace_workload(t);
  ASSERT_EQ(w.size(), 4u);
  // Ordered by share, GPUs, types.
  EXPECT_EQ(w[0].milli, 500);
  EXPECT_TRUE(w[0].types.none());
  EXPECT_EQ(w[0].weight, 2);
  EXPECT_EQ(w[1].milli, 500);
  EXPECT_EQ(w[1].types, v100);
  EXPECT_EQ(w[1].weight, 1);
  EXPECT_EQ(w[2].gpus, 1u);
  EXPECT_EQ(w[2].milli, 1000);
  EXPECT_EQ(w[3].gpus, 8u);
  EXPECT_EQ(w[3].weight, 1);
  EXPECT_DOUBLE_EQ(requested_gpus(t.jobs[0].shape), 0.5);
  EXPECT_DOUBLE_EQ(requested_gpus(t.jobs[3].shape), 8.0);
}

}  // namespace
}  // namespace flotilla
