#include "scheduler/fragmentation.h"

#include <gtest/gtest.h>

#include "tests/scheduler/test_fleets.h"

namespace flotilla {
namespace {

using testing::add_nodes;
using testing::built;
using testing::node_of;

TEST(Fragmentation, NodeFragmentFollowsFgd) {
  NodeCapacity n{.gpu_type = 0, .free_gpus = 1, .rooms = {500, 200}};
  EXPECT_DOUBLE_EQ(n.total_gpus(), 1.7);
  // Whole-GPU tasks cannot use partly used GPUs.
  EXPECT_DOUBLE_EQ(node_fragment(n, {.gpus = 1}), 0.7);
  // Two whole GPUs do not fit: everything is a fragment.
  EXPECT_DOUBLE_EQ(node_fragment(n, {.gpus = 2}), 1.7);
  // A 0.3 share fits the 0.5 room; only the 0.2 room is too small.
  EXPECT_DOUBLE_EQ(node_fragment(n, {.gpus = 1, .milli = 300}), 0.2);
  // A task for another GPU type sees nothing it can use.
  TaskShape other{.gpus = 1};
  other.types.set(1);
  EXPECT_DOUBLE_EQ(node_fragment(n, other), 1.7);
  // Weighted mean over a workload.
  const std::vector<TaskShape> mix{{.gpus = 1, .weight = 3}, {.gpus = 2, .weight = 1}};
  EXPECT_DOUBLE_EQ(node_fragmentation(n, mix), (3 * 0.7 + 1.7) / 4);
}

TEST(Fragmentation, ReportCountsFreeGpusNoTaskOfAShapeCanUse) {
  FleetBuilder b("frag");
  b.add_region("r", Link{1, 1});
  b.add_site("s", Link{1, 1});
  b.add_switch("w", Link{1, 1});
  add_nodes(b, "n", 3, node_of("RTX4090", 4));
  Fleet fleet = built(b);
  FleetState state(fleet);
  // Node 0: 3 GPUs held (1 free); node 1: 2 held (2 free); node 2 idle (4 free).
  state.take(Placement{.allocs = {{0, 0b0111, 1000}}});
  state.take(Placement{.allocs = {{1, 0b0011, 1000}}});
  const std::vector<TaskShape> shapes{{.gpus = 1}, {.gpus = 2}, {.gpus = 4}};
  const std::vector<FragmentationRow> rows = fragmentation_report(state, shapes);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].shape, "1 GPU");
  EXPECT_DOUBLE_EQ(rows[0].free_gpus, 7);
  EXPECT_DOUBLE_EQ(rows[0].unusable_gpus, 0);
  EXPECT_EQ(rows[1].shape, "2 GPUs");
  EXPECT_DOUBLE_EQ(rows[1].unusable_gpus, 1);  // node 0's single GPU
  EXPECT_DOUBLE_EQ(rows[2].unusable_gpus, 3);  // nodes 0 and 1
  state.set_up(2, false);
  EXPECT_DOUBLE_EQ(fragmentation_report(state, shapes)[2].free_gpus, 3);
}

}  // namespace
}  // namespace flotilla
