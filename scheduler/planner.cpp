#include "scheduler/planner.h"

#include <stdexcept>

namespace flotilla {

Planner::Planner(std::vector<std::uint64_t> capacity)
    : capacity_(std::move(capacity)),
      base_busy_(capacity_.size(), 0),
      changes_(capacity_.size()),
      future_starts_(capacity_.size()) {}

void Planner::change(GpuTypeId t, Seconds at, std::int64_t delta) {
  if (at <= folded_) {
    base_busy_[t] += delta;
    return;
  }
  auto [it, inserted] = changes_[t].try_emplace(at, 0);
  it->second += delta;
  if (it->second == 0) changes_[t].erase(it);
}

void Planner::hold(GpuTypeId t, Seconds start, Seconds end, std::uint64_t gpus) {
  if (end <= start || gpus == 0) return;
  if (start > folded_) future_starts_[t].insert(start);
  change(t, start, static_cast<std::int64_t>(gpus));
  change(t, end, -static_cast<std::int64_t>(gpus));
}

void Planner::release(GpuTypeId t, Seconds start, Seconds end, std::uint64_t gpus) {
  if (end <= start || gpus == 0) return;
  if (start > folded_) future_starts_[t].erase(future_starts_[t].find(start));
  change(t, start, -static_cast<std::int64_t>(gpus));
  change(t, end, static_cast<std::int64_t>(gpus));
}

void Planner::advance(Seconds now) {
  if (now <= folded_) return;
  for (std::size_t t = 0; t < changes_.size(); ++t) {
    auto& c = changes_[t];
    auto end = c.upper_bound(now);
    for (auto it = c.begin(); it != end; ++it) base_busy_[t] += it->second;
    c.erase(c.begin(), end);
    auto& starts = future_starts_[t];
    starts.erase(starts.begin(), starts.upper_bound(now));
  }
  folded_ = now;
}

std::uint64_t Planner::free_at(GpuTypeId t, Seconds at) const {
  if (at < folded_) throw std::logic_error("planner asked about the folded past");
  std::int64_t busy = base_busy_[t];
  for (auto it = changes_[t].begin(); it != changes_[t].end() && it->first <= at; ++it) {
    busy += it->second;
  }
  const auto cap = static_cast<std::int64_t>(capacity_[t]);
  return busy >= cap ? 0 : static_cast<std::uint64_t>(cap - busy);
}

std::optional<Seconds> Planner::earliest(GpuTypeId t, Seconds from, Seconds duration,
                                         std::uint64_t gpus) const {
  if (from < folded_) throw std::logic_error("planner asked about the folded past");
  const auto cap = static_cast<std::int64_t>(capacity_[t]);
  const auto need = static_cast<std::int64_t>(gpus);
  if (need > cap) return std::nullopt;
  const auto& c = changes_[t];
  auto it = c.begin();
  std::int64_t busy = base_busy_[t];
  for (; it != c.end() && it->first <= from; ++it) busy += it->second;
  // `start`: since when the level has had room for the job without a break.
  std::optional<Seconds> start;
  if (cap - busy >= need) start = from;
  const bool only_frees = future_starts_[t].upper_bound(from) == future_starts_[t].end();
  for (; it != c.end(); ++it) {
    if (start && only_frees) return start;  // room now stays room
    if (start && it->first >= *start + duration) return start;
    busy += it->second;
    if (cap - busy >= need) {
      if (!start) start = it->first;
    } else {
      start.reset();
    }
  }
  return start;  // room from `start` on for ever (every hold ends)
}

}  // namespace flotilla
