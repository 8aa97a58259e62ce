// Planner: how many GPUs of each type are free over future time, from the
// holds of running jobs and reservations of queued ones. Backfill asks it
// "when could this job start?" and "would starting that one now delay a
// reservation?". It counts GPUs per type, not their places: topology is the
// placer's business, so a reservation is a promise of capacity that the
// placer confirms when its time comes (Fluxion keeps its planner separate in
// the same way). Not thread-safe; owned by one Scheduler.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "scheduler/gpu_catalog.h"
#include "scheduler/request.h"

namespace flotilla {

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
  std::vector<std::int64_t> base_busy_;                   // busy at folded_
  std::vector<std::map<Seconds, std::int64_t>> changes_;  // busy deltas after folded_
  // Starts of holds after folded_. With none, the future only frees GPUs, so
  // the first moment with room is the answer: no need to walk the duration.
  std::vector<std::multiset<Seconds>> future_starts_;
  Seconds folded_{INT64_MIN};
};

}  // namespace flotilla
