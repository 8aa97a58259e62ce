#include "scheduler/planner.h"

#include <algorithm>
#include <stdexcept>

namespace flotilla {

void ChangeTimeline::add(Seconds at, std::int64_t delta) {
  if (delta == 0) return;
  const std::int64_t p = page_of(bucket_of(at));
  if (!anchored_) {
    first_ = p;
    anchored_ = true;
  }
  if (p >= first_ && static_cast<std::uint64_t>(p - first_) >= kHorizonPages) {
    auto it = far_.try_emplace(at, 0).first;
    if ((it->second += delta) == 0) far_.erase(it);
    return;
  }
  for (; p < first_; --first_) pages_.emplace_front();  // before the first fold only
  add_to_calendar(at, delta);
  rebalance();
}

void ChangeTimeline::add_to_calendar(Seconds at, std::int64_t delta) {
  const std::int64_t b = bucket_of(at);
  const auto i = static_cast<std::size_t>(page_of(b) - first_);
  if (i >= pages_.size()) pages_.resize(i + 1);
  Page& page = pages_[i];
  const unsigned slot = slot_of(b);
  Bucket& bucket = page.buckets[slot];
  auto it = std::lower_bound(bucket.changes.begin(), bucket.changes.end(), at,
                             [](const Change& c, Seconds t) { return c.at < t; });
  bucket.total += delta;
  page.total += delta;
  if (it == bucket.changes.end() || it->at != at) {
    bucket.changes.insert(it, Change{at, delta});
    page.used |= std::uint64_t{1} << slot;
  } else if ((it->delta += delta) == 0) {
    bucket.changes.erase(it);
    if (bucket.changes.empty()) page.used &= ~(std::uint64_t{1} << slot);
  }
}

void ChangeTimeline::rebalance() {
  while (pages_.size() > kHorizonPages) {
    for (const Bucket& b : pages_.back().buckets) {
      for (const Change& c : b.changes) far_.emplace(c.at, c.delta);
    }
    pages_.pop_back();
  }
  while (!far_.empty() && static_cast<std::uint64_t>(page_of(bucket_of(far_.begin()->first)) -
                                                     first_) < kHorizonPages) {
    const auto [at, delta] = *far_.begin();
    far_.erase(far_.begin());
    add_to_calendar(at, delta);
  }
}

std::int64_t ChangeTimeline::take_until(Seconds now) {
  const std::int64_t b = bucket_of(now), p = page_of(b);
  if (!anchored_) {
    first_ = p;
    anchored_ = true;
  }
  std::int64_t sum = 0;
  for (; !pages_.empty() && first_ < p; ++first_) {
    sum += pages_.front().total;
    pages_.pop_front();
  }
  if (!pages_.empty() && first_ == p) {
    Page& page = pages_.front();
    const unsigned slot = slot_of(b);
    for (std::uint64_t used = page.used & below(slot); used != 0; used &= used - 1) {
      Bucket& bucket = page.buckets[std::countr_zero(used)];
      sum += bucket.total;
      page.total -= bucket.total;
      bucket = Bucket{};
    }
    page.used &= ~below(slot);
    Bucket& bucket = page.buckets[slot];
    const auto cut = std::upper_bound(bucket.changes.begin(), bucket.changes.end(), now,
                                      [](Seconds t, const Change& c) { return t < c.at; });
    std::int64_t taken = 0;
    for (auto it = bucket.changes.begin(); it != cut; ++it) taken += it->delta;
    bucket.changes.erase(bucket.changes.begin(), cut);
    bucket.total -= taken;
    page.total -= taken;
    if (bucket.changes.empty()) page.used &= ~(std::uint64_t{1} << slot);
    sum += taken;
  }
  for (auto it = far_.begin(); it != far_.end() && it->first <= now; it = far_.erase(it)) {
    sum += it->second;
  }
  if (pages_.empty()) first_ = std::max(first_, p);
  rebalance();
  return sum;
}

std::int64_t ChangeTimeline::sum_until(Seconds at) const {
  const std::int64_t b = bucket_of(at), p = page_of(b);
  std::int64_t sum = 0;
  std::size_t i = 0;
  for (; i < pages_.size() && first_ + static_cast<std::int64_t>(i) < p; ++i) {
    sum += pages_[i].total;
  }
  if (i < pages_.size() && first_ + static_cast<std::int64_t>(i) == p) {
    const Page& page = pages_[i];
    const unsigned slot = slot_of(b);
    for (std::uint64_t used = page.used & below(slot); used != 0; used &= used - 1) {
      sum += page.buckets[std::countr_zero(used)].total;
    }
    for (const Change& c : page.buckets[slot].changes) {
      if (c.at > at) break;
      sum += c.delta;
    }
  }
  for (auto it = far_.begin(); it != far_.end() && it->first <= at; ++it) sum += it->second;
  return sum;
}

Planner::Planner(std::vector<std::uint64_t> capacity)
    : capacity_(std::move(capacity)),
      base_busy_(capacity_.size(), 0),
      changes_(capacity_.size()),
      future_starts_(capacity_.size()) {}

void Planner::change(GpuTypeId t, Seconds at, std::int64_t delta) {
  if (at <= folded_) {
    base_busy_[t] += delta;
  } else {
    changes_[t].add(at, delta);
  }
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
    base_busy_[t] += changes_[t].take_until(now);
    auto& starts = future_starts_[t];
    starts.erase(starts.begin(), starts.upper_bound(now));
  }
  folded_ = now;
}

std::uint64_t Planner::free_at(GpuTypeId t, Seconds at) const {
  if (at < folded_) throw std::logic_error("planner asked about the folded past");
  const std::int64_t busy = base_busy_[t] + changes_[t].sum_until(at);
  const auto cap = static_cast<std::int64_t>(capacity_[t]);
  return busy >= cap ? 0 : static_cast<std::uint64_t>(cap - busy);
}

std::optional<Seconds> Planner::earliest(GpuTypeId t, Seconds from, Seconds duration,
                                         std::uint64_t gpus) const {
  if (from < folded_) throw std::logic_error("planner asked about the folded past");
  const auto cap = static_cast<std::int64_t>(capacity_[t]);
  const auto need = static_cast<std::int64_t>(gpus);
  if (need > cap) return std::nullopt;
  std::int64_t busy = base_busy_[t] + changes_[t].sum_until(from);
  // `start`: since when the level has had room for the job without a break.
  std::optional<Seconds> start;
  if (cap - busy >= need) start = from;
  // With no hold starting later, the future only frees GPUs: room now stays room.
  const bool only_frees = future_starts_[t].upper_bound(from) == future_starts_[t].end();
  if (start && only_frees) return start;
  changes_[t].walk_after(from, [&](const ChangeTimeline::Change& c) {
    if (start && c.at >= *start + duration) return false;
    busy += c.delta;
    if (cap - busy >= need) {
      if (!start) start = c.at;
      return !only_frees;
    }
    start.reset();
    return true;
  });
  return start;  // room from `start` on for ever (every hold ends)
}

}  // namespace flotilla
