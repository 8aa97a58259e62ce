#include "scheduler/request.h"

#include <gtest/gtest.h>

namespace flotilla {
namespace {

const GpuCatalog& catalog() {
  return GpuCatalog::builtin();
}

PlacementRequest resolved(const JobRequest& r) {
  Result<PlacementRequest> p = resolve_placement(r, catalog());
  EXPECT_TRUE(p.is_ok()) << p.message();
  return p.is_ok() ? p.value() : PlacementRequest{};
}

TEST(ResolvePlacement, GpusPerNodeTimesNodes) {
  JobRequest r;
  r.nodes_min = 4;
  r.gpus_per_node = 8;
  r.gpu_types = {"h100"};
  r.switches = 1;
  const PlacementRequest p = resolved(r);
  EXPECT_EQ(p.nodes, 4u);
  EXPECT_EQ(p.gpus_per_node, 8u);
  EXPECT_EQ(p.total_gpus, 32u);
  EXPECT_TRUE(p.types.test(*catalog().find("H100-SXM")));
  EXPECT_EQ(p.types.count(), 1u);
  EXPECT_EQ(p.max_switches, 1u);
}

TEST(ResolvePlacement, GpusPerNodeWithoutNodesFollowsTheTasks) {
  JobRequest r;
  r.gpus_per_node = 2;
  r.ntasks = 6;
  r.ntasks_per_node = 2;
  const PlacementRequest p = resolved(r);
  EXPECT_EQ(p.nodes, 3u);
  EXPECT_EQ(p.total_gpus, 6u);
}

TEST(ResolvePlacement, GpusPerTask) {
  JobRequest r;
  r.ntasks = 8;
  r.ntasks_per_node = 4;
  r.gpus_per_task = 1;
  PlacementRequest p = resolved(r);
  EXPECT_EQ(p.nodes, 2u);
  EXPECT_EQ(p.gpus_per_node, 4u);
  EXPECT_EQ(p.total_gpus, 8u);

  JobRequest spread;
  spread.ntasks = 6;
  spread.gpus_per_task = 1;
  spread.nodes_min = 4;  // 6 GPUs do not split evenly over 4 nodes
  p = resolved(spread);
  EXPECT_EQ(p.gpus_per_node, 0u);
  EXPECT_EQ(p.nodes, 4u);
  EXPECT_EQ(p.total_gpus, 6u);
}

TEST(ResolvePlacement, TotalGpusSplitEvenlyOrFreely) {
  JobRequest r;
  r.gpus = 16;
  r.nodes_min = 2;
  PlacementRequest p = resolved(r);
  EXPECT_EQ(p.gpus_per_node, 8u);
  EXPECT_EQ(p.nodes, 2u);
  r.nodes_min.reset();
  p = resolved(r);
  EXPECT_EQ(p.gpus_per_node, 0u);
  EXPECT_EQ(p.nodes, 0u);
  EXPECT_EQ(p.total_gpus, 16u);
}

TEST(ResolvePlacement, ConstraintNamesAcceptableTypes) {
  JobRequest r;
  r.gpus = 1;
  r.constraint = "h100|a100";
  PlacementRequest p = resolved(r);
  EXPECT_EQ(p.types.count(), 2u);
  r.gpu_types = {"a100"};
  p = resolved(r);
  EXPECT_EQ(p.types.count(), 1u);
  EXPECT_TRUE(p.types.test(*catalog().find("a100")));
}

TEST(ResolvePlacement, SharesAndExclusiveNodes) {
  JobRequest share;
  share.gpu_milli = 250;
  PlacementRequest p = resolved(share);
  EXPECT_EQ(p.gpu_milli, 250);
  EXPECT_EQ(p.total_gpus, 1u);

  JobRequest whole;
  whole.exclusive = true;
  whole.nodes_min = 2;
  p = resolved(whole);
  EXPECT_TRUE(p.exclusive);
  EXPECT_EQ(p.nodes, 2u);
}

TEST(ResolvePlacement, Errors) {
  auto message = [](const JobRequest& r) { return resolve_placement(r, catalog()).message(); };
  JobRequest none;
  EXPECT_EQ(message(none),
            "the job asks for no GPU (use --gpus, --gres=gpu:N, --gpus-per-node, --gpus-per-task "
            "or --exclusive)");
  JobRequest unknown;
  unknown.gpus = 1;
  unknown.gpu_types = {"b200"};
  EXPECT_EQ(message(unknown), "GPU type: unknown GPU type 'b200'");
  JobRequest feature;
  feature.gpus = 1;
  feature.constraint = "ib&h100";
  EXPECT_EQ(message(feature),
            "--constraint: only GPU types separated by '|' are supported, got 'ib&h100'");
  JobRequest disjoint;
  disjoint.gpus = 1;
  disjoint.gpu_types = {"h100"};
  disjoint.constraint = "a100";
  EXPECT_EQ(message(disjoint), "--constraint 'a100' excludes every requested GPU type");
  JobRequest zero;
  zero.gpus = 0;
  EXPECT_EQ(message(zero), "the job asks for 0 GPUs");
  JobRequest big_share;
  big_share.gpu_milli = 500;
  big_share.gpus = 2;
  EXPECT_EQ(message(big_share), "a GPU share is one part of one GPU");
  JobRequest switches;
  switches.gpus = 1;
  switches.switches = 0;
  EXPECT_EQ(message(switches), "--switches must be at least 1");
}

}  // namespace
}  // namespace flotilla
