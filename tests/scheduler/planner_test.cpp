#include "scheduler/planner.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <utility>
#include <vector>

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

// The bucketed timeline against a plain ordered map of the same changes:
// adds that cancel, times on both sides of bucket edges and past the
// calendar's 48-day horizon, folds small and large, sums and walks.
TEST(ChangeTimeline, MatchesAnOrderedMapUnderRandomChanges) {
  std::mt19937_64 rng(7);
  ChangeTimeline timeline;
  std::map<std::int64_t, std::int64_t> model;
  std::int64_t folded = -1, folded_sum = 0;
  constexpr std::int64_t kDays = 86400;
  for (int step = 0; step < 20000; ++step) {
    const bool far = rng() % 20 == 0;
    const auto at =
        folded + 1 +
        static_cast<std::int64_t>(far ? 40 * kDays + rng() % (20 * kDays) : rng() % 500);
    const auto delta = static_cast<std::int64_t>(rng() % 7) - 3;
    timeline.add(s(at), delta);
    if (delta != 0 && (model[at] += delta) == 0) model.erase(at);
    if (step % 50 == 0) {
      const bool jump = rng() % 10 == 0;
      const std::int64_t now =
          folded + static_cast<std::int64_t>(jump ? rng() % (60 * kDays) : rng() % 200);
      std::int64_t expect = 0;
      while (!model.empty() && model.begin()->first <= now) {
        expect += model.begin()->second;
        model.erase(model.begin());
      }
      ASSERT_EQ(timeline.take_until(s(now)), expect) << "step " << step;
      folded = now;
      folded_sum += expect;
    }
    if (step % 7 == 0) {
      const std::int64_t at_query =
          folded + static_cast<std::int64_t>(rng() % 2 ? rng() % 600 : rng() % (70 * kDays));
      std::int64_t expect = 0;
      auto m = model.begin();
      for (; m != model.end() && m->first <= at_query; ++m) expect += m->second;
      ASSERT_EQ(timeline.sum_until(s(at_query)), expect) << "step " << step;
      using Changes = std::vector<std::pair<std::int64_t, std::int64_t>>;
      Changes walked;
      timeline.walk_after(s(at_query), [&](const ChangeTimeline::Change& c) {
        walked.emplace_back(c.at.count(), c.delta);
        return true;
      });
      ASSERT_EQ(walked, Changes(m, model.end())) << "step " << step;
    }
  }
  EXPECT_NE(folded_sum, 0);  // the walk did fold real changes
}

}  // namespace
}  // namespace flotilla
