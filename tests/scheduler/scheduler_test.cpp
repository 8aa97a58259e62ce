#include "scheduler/scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/scheduler/test_fleets.h"

namespace flotilla {
namespace {

using testing::add_nodes;
using testing::built;
using testing::eight_gpus;
using testing::node_of;

Seconds s(std::int64_t v) {
  return Seconds{v};
}

QueuedJob job(JobId id, unsigned gpus, std::int64_t estimate) {
  return QueuedJob{.id = id,
                   .shape = PlacementRequest{.nodes = 0, .gpus_per_node = 0, .total_gpus = gpus},
                   .submit = s(0),
                   .estimate = s(estimate)};
}

std::vector<JobId> started(const std::vector<Start>& starts) {
  std::vector<JobId> ids;
  for (const Start& st : starts) ids.push_back(st.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

// A (6 GPUs) runs until 100; B (4) waits for it; F (all 8) waits for B;
// G (2 GPUs for 1000 s) fits now. EASY protects only B, so G runs (B still has
// the 4 GPUs it needs at 100); conservative also protects F, which G would
// delay; FCFS runs nothing behind B.
std::vector<JobId> run_policy(const std::string& queue) {
  Fleet fleet = eight_gpus();
  SchedulerOptions o;
  o.queue = queue;
  auto sched = std::move(Scheduler::create(fleet, o)).value();
  sched->submit(job(1, 6, 100), s(0));
  EXPECT_EQ(started(sched->schedule(s(0))), std::vector<JobId>{1});
  sched->submit(job(2, 4, 50), s(0));
  sched->submit(job(3, 8, 100), s(0));
  sched->submit(job(4, 2, 1000), s(0));
  return started(sched->schedule(s(0)));
}

TEST(Scheduler, QueuePoliciesDifferAsDocumented) {
  EXPECT_EQ(run_policy("fcfs"), std::vector<JobId>{});
  EXPECT_EQ(run_policy("easy"), std::vector<JobId>{4});
  EXPECT_EQ(run_policy("conservative"), std::vector<JobId>{});
}

TEST(Scheduler, EasyBackfillsShortJobsBeforeTheReservation) {
  Fleet fleet = eight_gpus();
  auto sched = std::move(Scheduler::create(fleet, {})).value();
  sched->submit(job(1, 6, 100), s(0));
  sched->submit(job(2, 4, 50), s(0));   // waits for job 1
  sched->submit(job(3, 2, 100), s(0));  // ends at 100: cannot delay job 2
  EXPECT_EQ(started(sched->schedule(s(0))), (std::vector<JobId>{1, 3}));
  EXPECT_EQ(sched->queued(), 1u);
  sched->end(1, s(100));
  sched->end(3, s(100));
  EXPECT_EQ(started(sched->schedule(s(100))), std::vector<JobId>{2});
  EXPECT_EQ(sched->queued(), 0u);
  EXPECT_EQ(sched->running(), 1u);
}

TEST(Scheduler, NodeDownEndsItsJobsAndOffersNothing) {
  Fleet fleet = eight_gpus();
  auto sched = std::move(Scheduler::create(fleet, {})).value();
  sched->submit(job(1, 4, 100), s(0));
  const std::vector<Start> st = sched->schedule(s(0));
  ASSERT_EQ(st.size(), 1u);
  const std::uint32_t node = st[0].placement.allocs[0].node;
  EXPECT_EQ(sched->node_down(node, s(10)), std::vector<JobId>{1});
  EXPECT_EQ(sched->running(), 0u);
  sched->submit(job(2, 8, 10), s(10));
  EXPECT_TRUE(sched->schedule(s(10)).empty()) << "only 4 GPUs are up";
  sched->node_up(node);
  EXPECT_EQ(started(sched->schedule(s(20))), std::vector<JobId>{2});
}

TEST(Scheduler, SwitchLimitIsDroppedAfterItsWait) {
  FleetBuilder b("two-switches");
  b.add_region("r", Link{1, 1});
  b.add_site("s", Link{1, 1});
  for (int w = 0; w < 2; ++w) {
    b.add_switch("w" + std::to_string(w), Link{100, 1});
    add_nodes(b, "w" + std::to_string(w) + "n", 1, node_of("H100-SXM", 8));
  }
  Fleet fleet = built(b);
  auto sched = std::move(Scheduler::create(fleet, {})).value();
  QueuedJob j{
      .id = 7,
      .shape =
          PlacementRequest{.nodes = 2, .gpus_per_node = 8, .total_gpus = 16, .max_switches = 1},
      .submit = s(0),
      .estimate = s(100),
      .switches_wait = s(60)};
  sched->submit(j, s(0));
  EXPECT_TRUE(sched->schedule(s(0)).empty());
  EXPECT_EQ(sched->next_wakeup(s(0)), s(60));
  EXPECT_EQ(sched->next_wakeup(s(60)), std::nullopt);
  const std::vector<Start> st = sched->schedule(s(60));
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].placement.level, Level::kSite);
}

TEST(Priority, FairshareFavoursTheAccountThatUsedLess) {
  PriorityOptions o;
  o.order = "multifactor";
  Priority p = std::move(Priority::create(o, 100)).value();
  p.charge(0, 1e6, s(0));
  p.charge(1, 1e3, s(0));
  EXPECT_LT(p.of(s(0), 1, 0, 0, s(10)), p.of(s(0), 1, 1, 0, s(10)));
  // Older jobs gain priority through age.
  EXPECT_LT(p.of(s(100), 1, 1, 0, s(200)), p.of(s(0), 1, 1, 0, s(200)));
  // Usage decays: account 0's heavy use long ago weighs less than account
  // 1's modest use now (sixty half-lives later).
  const Seconds later = s(420 * 24 * 3600);
  p.charge(1, 1e4, later);
  EXPECT_GT(p.of(s(0), 1, 0, 0, later), p.of(s(0), 1, 1, 0, later));
  o.order = "lottery";
  EXPECT_EQ(Priority::create(o, 1).message(),
            "unknown priority order 'lottery' (known: fifo, multifactor)");
}

TEST(Scheduler, UnknownQueuePolicyIsAnError) {
  Fleet fleet = eight_gpus();
  SchedulerOptions o;
  o.queue = "lifo";
  EXPECT_EQ(Scheduler::create(fleet, o).message(),
            "unknown queue policy 'lifo' (known: fcfs, easy, conservative)");
}

}  // namespace
}  // namespace flotilla
