#include "scheduler/planner.h"

#include <gtest/gtest.h>

namespace flotilla {
namespace {

constexpr GpuTypeId kT = 0;
Seconds s(std::int64_t v) {
  return Seconds{v};
}

TEST(Planner, EarliestFindsTheFirstGapLongEnough) {
  Planner p({8});
  p.hold(kT, s(0), s(100), 6);    // a running job
  p.hold(kT, s(200), s(300), 8);  // a reservation that takes everything
  EXPECT_EQ(p.free_at(kT, s(50)), 2u);
  EXPECT_EQ(p.free_at(kT, s(100)), 8u);
  EXPECT_EQ(p.free_at(kT, s(250)), 0u);
  EXPECT_EQ(p.earliest(kT, s(0), s(10), 2), s(0));
  EXPECT_EQ(p.earliest(kT, s(0), s(10), 4), s(100));
  EXPECT_EQ(p.earliest(kT, s(0), s(100), 4), s(100));       // [100, 200) is exactly long enough
  EXPECT_EQ(p.earliest(kT, s(0), s(101), 4), s(300));       // no longer gap before the reservation
  EXPECT_EQ(p.earliest(kT, s(0), s(10), 9), std::nullopt);  // more than the fleet has
}

TEST(Planner, ReleaseUndoesHoldAndAdvanceForgetsThePast) {
  Planner p({4, 2});
  p.hold(kT, s(0), s(100), 4);
  p.hold(1, s(0), s(50), 2);
  EXPECT_EQ(p.earliest(kT, s(0), s(1), 1), s(100));
  p.advance(s(60));
  EXPECT_EQ(p.free_at(1, s(60)), 2u);
  EXPECT_EQ(p.free_at(kT, s(60)), 0u);
  // Release of a hold whose start is already folded still restores it.
  p.release(kT, s(0), s(100), 4);
  EXPECT_EQ(p.free_at(kT, s(60)), 4u);
  EXPECT_EQ(p.earliest(kT, s(60), s(1000), 4), s(60));
  EXPECT_THROW((void)p.free_at(kT, s(10)), std::logic_error);
}

TEST(Planner, RunningJobsOnlyFreeGpusSoTheFirstRoomIsTheAnswer) {
  Planner p({8});
  p.hold(kT, s(0), s(100), 6);
  p.hold(kT, s(0), s(5000), 2);
  p.advance(s(0));  // both are running now: the future only frees GPUs
  EXPECT_EQ(p.earliest(kT, s(0), s(100000), 4), s(100));
  // A reservation that starts later takes the walk over its duration again.
  p.hold(kT, s(200), s(300), 8);
  EXPECT_EQ(p.earliest(kT, s(0), s(150), 4), s(300));
  p.release(kT, s(200), s(300), 8);
  EXPECT_EQ(p.earliest(kT, s(0), s(150), 4), s(100));
}

}  // namespace
}  // namespace flotilla
