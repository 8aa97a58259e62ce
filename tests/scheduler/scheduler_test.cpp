#include "scheduler/scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

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

// Job 2 (all 8 GPUs) waits for job 1 and holds EASY's reservation at 100, so
// job 3 (2 GPUs for 1000 s) may not start now. Withdrawn (scancel while
// pending), job 2 holds nothing: job 3 starts at once, and job 2 never starts.
TEST(Scheduler, WithdrawnJobHoldsNoReservation) {
  Fleet fleet = eight_gpus();
  auto sched = std::move(Scheduler::create(fleet, {})).value();
  sched->submit(job(1, 6, 100), s(0));
  sched->submit(job(2, 8, 50), s(0));
  sched->submit(job(3, 2, 1000), s(0));
  EXPECT_EQ(started(sched->schedule(s(0))), std::vector<JobId>{1});
  EXPECT_EQ(started(sched->schedule(s(1))), std::vector<JobId>{});
  EXPECT_EQ(sched->queued(), 2u);
  EXPECT_TRUE(sched->withdraw(2));
  EXPECT_EQ(sched->queued(), 1u);
  EXPECT_FALSE(sched->withdraw(2)) << "already withdrawn";
  EXPECT_FALSE(sched->withdraw(1)) << "running, not queued";
  EXPECT_FALSE(sched->withdraw(99)) << "never submitted";
  EXPECT_EQ(started(sched->schedule(s(2))), std::vector<JobId>{3});
  sched->end(1, s(100));
  sched->end(3, s(100));
  EXPECT_EQ(started(sched->schedule(s(100))), std::vector<JobId>{});
  EXPECT_EQ(sched->queued(), 0u);
  EXPECT_EQ(sched->running(), 0u);
}

// Starts of an EASY run of a random workload on a random fleet, with a
// runtime that grows with the nodes a job spans; `floor` gives min_runtime.
std::vector<Start> easy_run(std::uint64_t seed, bool floor, int* floors_asked) {
  Fleet fleet = testing::random_fleet(seed);
  SchedulerOptions o;
  o.runtime = [](const QueuedJob& j, const Placement& p) {
    return j.estimate + Seconds{60 * static_cast<std::int64_t>(p.allocs.size() - 1)};
  };
  if (floor) {
    o.min_runtime = [floors_asked](const QueuedJob& j, GpuTypeId) {
      ++*floors_asked;
      return j.estimate;
    };
  }
  auto sched = std::move(Scheduler::create(fleet, o)).value();
  std::mt19937_64 rng(seed);
  std::multimap<Seconds, JobId> ends;
  std::vector<Start> all;
  JobId next = 0;
  for (Seconds now{0}; now < Seconds{20'000}; now += Seconds{10}) {
    for (auto it = ends.begin(); it != ends.end() && it->first <= now; it = ends.erase(it)) {
      sched->end(it->second, now);
    }
    for (int k = static_cast<int>(rng() % 4); k > 0; --k) {
      sched->submit(job(next++, 1 + static_cast<unsigned>(rng() % 12),
                        100 + static_cast<std::int64_t>(rng() % 3000)),
                    now);
    }
    for (const Start& st : sched->schedule(now)) {
      ends.emplace(st.expected_end, st.id);
      all.push_back(st);
    }
  }
  return all;
}

TEST(Scheduler, EasyPassesOverJobsThatSurelyDelayTheReservationAsIfPlacingThem) {
  int asked = 0;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const std::vector<Start> placed = easy_run(seed, false, nullptr);
    const std::vector<Start> passed_over = easy_run(seed, true, &asked);
    ASSERT_EQ(placed.size(), passed_over.size());
    for (std::size_t i = 0; i < placed.size(); ++i) {
      ASSERT_EQ(placed[i].id, passed_over[i].id);
      ASSERT_EQ(placed[i].placement, passed_over[i].placement);
      ASSERT_EQ(placed[i].expected_end, passed_over[i].expected_end);
    }
  }
  EXPECT_GT(asked, 0);  // the queue was long enough to pass over jobs
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
