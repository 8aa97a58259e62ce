#include "simulator/event_queue.h"

#include <gtest/gtest.h>

#include <queue>
#include <random>
#include <tuple>
#include <vector>

namespace flotilla {
namespace {

struct Ev {
  Seconds at;
  std::uint64_t seq;
};

// Against a binary heap ordered by (time, creation): random times ahead of
// the current one, many equal times, negative times, far jumps, and looks at
// the next event between additions.
TEST(MonotoneEventQueue, TakesEventsInTimeThenCreationOrder) {
  std::mt19937_64 rng(11);
  MonotoneEventQueue<Ev> queue;
  auto later = [](const Ev& a, const Ev& b) {
    return std::tie(a.at, a.seq) > std::tie(b.at, b.seq);
  };
  std::priority_queue<Ev, std::vector<Ev>, decltype(later)> model(later);
  std::int64_t now = -1'000'000;
  std::uint64_t seq = 0, taken = 0;
  for (int step = 0; step < 200'000; ++step) {
    if (model.empty() || rng() % 5 < 3) {
      const std::uint64_t r = rng();
      const std::int64_t ahead = r % 3 == 0   ? 0
                                 : r % 3 == 1 ? static_cast<std::int64_t>(r % 50)
                                              : static_cast<std::int64_t>(r % (1ull << 40));
      const Ev e{Seconds{now + ahead}, ++seq};
      queue.push(e);
      model.push(e);
      // Looking must not move the current time: the simulator looks at the
      // next event, then adds earlier ones when a submission comes first.
      if (rng() % 2 == 0) {
        ASSERT_EQ(queue.top().seq, model.top().seq) << "step " << step;
      }
    } else {
      ASSERT_FALSE(queue.empty());
      const Ev got = queue.top();
      const Ev want = model.top();
      ASSERT_EQ(got.at, want.at) << "step " << step;
      ASSERT_EQ(got.seq, want.seq) << "step " << step;
      queue.pop();
      model.pop();
      now = got.at.count();
      ++taken;
    }
  }
  EXPECT_GT(taken, 50'000u);
  EXPECT_EQ(queue.empty(), model.empty());
}

TEST(MonotoneEventQueue, RefusesAnEventBeforeTheCurrentTime) {
  MonotoneEventQueue<Ev> queue;
  queue.push({Seconds{100}, 1});
  queue.push({Seconds{200}, 2});
  EXPECT_EQ(queue.top().seq, 1u);
  queue.pop();
  EXPECT_THROW(queue.push({Seconds{99}, 3}), std::logic_error);
  queue.push({Seconds{100}, 4});  // the current time itself is fine
  EXPECT_EQ(queue.top().seq, 4u);
}

}  // namespace
}  // namespace flotilla
