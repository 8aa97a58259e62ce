// Planner: how many GPUs of each type are free over future time, from the
// holds of running jobs and reservations of queued ones. Backfill asks it
// "when could this job start?" and "would starting that one now delay a
// reservation?". It counts GPUs per type, not their places: topology is the
// placer's business, so a reservation is a promise of capacity that the
// placer confirms when its time comes (Fluxion keeps its planner separate in
// the same way). Not thread-safe; owned by one Scheduler.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "scheduler/gpu_catalog.h"
#include "scheduler/request.h"

namespace flotilla {

// Changes of a busy-GPU count over future time, in time order. A tree with a
// node per change made every job start a cache-missing walk down a tree of
// every running job's end (about 200,000 on an 800,000-GPU fleet). Here a
// change goes into a calendar of 64-second buckets found by index, each a
// short sorted array; pages of 64 buckets keep their sum and which buckets
// hold anything, so sums and walks over a sparse future skip empty time a
// page at a time. The rare change past the calendar's horizon waits in a
// tree until time comes near it.
class ChangeTimeline {
 public:
  struct Change {
    Seconds at;
    std::int64_t delta;
  };

  // Adds `delta` at `at`; a change that comes to zero is dropped.
  void add(Seconds at, std::int64_t delta);
  // Removes every change at or before `now` and returns their sum.
  std::int64_t take_until(Seconds now);
  // The sum of the changes at or before `at`.
  std::int64_t sum_until(Seconds at) const;
  // Calls visit(change) on the changes after `at`, in time order, while it
  // returns true.
  template <class Visit>
  void walk_after(Seconds at, Visit&& visit) const {
    const std::int64_t b = bucket_of(at), p = page_of(b);
    for (std::size_t i = p < first_ ? 0 : static_cast<std::size_t>(p - first_); i < pages_.size();
         ++i) {
      const Page& page = pages_[i];
      std::uint64_t used = page.used;
      if (first_ + static_cast<std::int64_t>(i) == p) used &= ~below(slot_of(b));
      for (; used != 0; used &= used - 1) {
        for (const Change& c : page.buckets[std::countr_zero(used)].changes) {
          if (c.at > at && !visit(c)) return;
        }
      }
    }
    for (auto it = far_.upper_bound(at); it != far_.end(); ++it) {
      if (!visit(Change{it->first, it->second})) return;
    }
  }

 private:
  struct Bucket {
    std::int64_t total = 0;       // sum of `changes`
    std::vector<Change> changes;  // sorted by time, at most one per time
  };
  struct Page {
    std::array<Bucket, 64> buckets;
    std::uint64_t used = 0;  // bit i: buckets[i] holds changes
    std::int64_t total = 0;  // sum of the buckets' totals
  };
  // 64-second buckets, 64 to a page, 1,024 pages (48 days) at most: at a
  // million jobs the running jobs' ends spread over days, a few dozen to a
  // bucket.
  static constexpr int kBucketShift = 6;
  static constexpr std::size_t kHorizonPages = 1024;
  static std::int64_t bucket_of(Seconds at) { return at.count() >> kBucketShift; }
  static std::int64_t page_of(std::int64_t bucket) { return bucket >> 6; }
  static unsigned slot_of(std::int64_t bucket) { return static_cast<unsigned>(bucket & 63); }
  static std::uint64_t below(unsigned slot) { return (std::uint64_t{1} << slot) - 1; }
  void add_to_calendar(Seconds at, std::int64_t delta);
  // Moves the pages past the horizon into far_, and far_'s changes that came
  // within it into the calendar.
  void rebalance();

  std::deque<Page> pages_;  // pages_[i] is page first_ + i
  std::int64_t first_ = 0;
  bool anchored_ = false;                // first_ has been set
  std::map<Seconds, std::int64_t> far_;  // all later than the calendar's changes
};

class Planner {
 public:
  // capacity[t]: GPUs of catalog type t in the fleet.
  explicit Planner(std::vector<std::uint64_t> capacity);

  // `gpus` GPUs of type `t` are busy during [start, end).
  void hold(GpuTypeId t, Seconds start, Seconds end, std::uint64_t gpus);
  // Undoes exactly one earlier hold() with the same arguments.
  void release(GpuTypeId t, Seconds start, Seconds end, std::uint64_t gpus);
  // Forgets the detail before `now` (folds it into a base count): queries
  // are only ever made from `now` on, so the past need not be walked again.
  void advance(Seconds now);

  std::uint64_t capacity(GpuTypeId t) const { return capacity_[t]; }
  // Free GPUs of type `t` at `at` (>= the last advance()).
  std::uint64_t free_at(GpuTypeId t, Seconds at) const;
  // Earliest start >= `from` such that `gpus` GPUs of type `t` stay free for
  // `duration`; nullopt when the type never has that many.
  std::optional<Seconds> earliest(GpuTypeId t, Seconds from, Seconds duration,
                                  std::uint64_t gpus) const;

 private:
  void change(GpuTypeId t, Seconds at, std::int64_t delta);

  std::vector<std::uint64_t> capacity_;
  std::vector<std::int64_t> base_busy_;  // busy at folded_
  std::vector<ChangeTimeline> changes_;  // busy deltas after folded_
  // Starts of holds after folded_. With none, the future only frees GPUs, so
  // the first moment with room is the answer: no need to walk the duration.
  std::vector<std::multiset<Seconds>> future_starts_;
  Seconds folded_{INT64_MIN};
};

}  // namespace flotilla
