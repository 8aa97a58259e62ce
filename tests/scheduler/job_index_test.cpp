#include "scheduler/job_index.h"

#include <gtest/gtest.h>

#include <random>
#include <unordered_map>

namespace flotilla {
namespace {

TEST(JobIndexTest, FindsWhatWasInsertedAndNotWhatWasErased) {
  JobIndex index;
  EXPECT_FALSE(index.find(7));
  EXPECT_FALSE(index.erase(7));
  index.insert(7, 70);
  index.insert(8, 80);
  EXPECT_EQ(index.find(7), 70u);
  EXPECT_EQ(index.find(8), 80u);
  index.insert(7, 71);  // replaces
  EXPECT_EQ(index.find(7), 71u);
  EXPECT_EQ(index.size(), 2u);
  EXPECT_TRUE(index.erase(7));
  EXPECT_FALSE(index.find(7));
  EXPECT_EQ(index.find(8), 80u);
  EXPECT_EQ(index.size(), 1u);
}

// Against std::unordered_map through many inserts and erases, with ids both
// dense (like job ids) and scattered, so probe runs wrap around the table and
// backward shifts cross its end. Now and then room is reserved ahead, as a
// scheduling pass does, which rehashes what is there.
TEST(JobIndexTest, AgreesWithStdUnorderedMapThroughChurn) {
  for (const std::uint64_t spread : {1ull, 1000003ull, 0x9E3779B97F4A7C15ull}) {
    std::mt19937_64 rng(spread);
    JobIndex index;
    std::unordered_map<std::uint64_t, std::uint32_t> reference;
    std::uint64_t next = 0;
    for (int step = 0; step < 200'000; ++step) {
      if (step % 7919 == 0) index.reserve(reference.size() + rng() % 100'000);
      const auto op = rng() % 3;
      if (op == 0 || reference.empty()) {
        const std::uint64_t id = (next++) * spread;
        const auto value = static_cast<std::uint32_t>(rng());
        index.insert(id, value);
        reference[id] = value;
      } else {
        // Erase an id that is there about half the time.
        const std::uint64_t id = (rng() % (next + 1)) * spread;
        EXPECT_EQ(index.erase(id), reference.erase(id) == 1) << "id " << id;
      }
      if (step % 1000 == 0) {
        ASSERT_EQ(index.size(), reference.size());
        for (const auto& [id, value] : reference) ASSERT_EQ(index.find(id), value) << "id " << id;
        for (std::uint64_t probe = next; probe < next + 50; ++probe) {
          ASSERT_FALSE(index.find(probe * spread));
        }
      }
    }
  }
}

}  // namespace
}  // namespace flotilla
