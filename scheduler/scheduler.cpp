#include "scheduler/scheduler.h"

#include <algorithm>
#include <bit>

namespace flotilla {
namespace {

// Priority order: higher priority, then earlier submit, then lower id.
bool before(double pa, const QueuedJob& a, double pb, const QueuedJob& b) {
  if (pa != pb) return pa > pb;
  if (a.submit != b.submit) return a.submit < b.submit;
  return a.id < b.id;
}

std::optional<Seconds> switch_wait_end(const QueuedJob& job) {
  if (!job.switches_wait || !job.shape.max_switches) return std::nullopt;
  return job.submit + *job.switches_wait;
}

std::vector<std::uint64_t> capacity_by_type(const Fleet& fleet) {
  std::vector<std::uint64_t> cap(fleet.catalog().size(), 0);
  for (const Node& n : fleet.nodes()) cap[n.gpu_type] += n.gpu_count;
  return cap;
}

}  // namespace

std::uint64_t planned_gpus(const Placement& p) {
  std::uint64_t n = 0;
  for (const NodeAlloc& a : p.allocs) n += static_cast<std::uint64_t>(std::popcount(a.gpu_mask));
  return n;
}

Result<std::unique_ptr<Scheduler>> Scheduler::create(const Fleet& fleet, SchedulerOptions options) {
  if (options.queue != "fcfs" && options.queue != "easy" && options.queue != "conservative") {
    return Status::error("unknown queue policy '" + options.queue +
                         "' (known: fcfs, easy, conservative)");
  }
  Result<std::unique_ptr<Placer>> placer = make_placer(options.placement, options.placer);
  if (!placer) return placer.status();
  Result<Priority> priority = Priority::create(options.priority, fleet.total_gpus());
  if (!priority) return priority.status();
  if (!options.runtime) {
    options.runtime = [](const QueuedJob& j, const Placement&) { return j.estimate; };
    options.min_runtime = [](const QueuedJob& j, GpuTypeId) { return j.estimate; };
  }
  return std::unique_ptr<Scheduler>(new Scheduler(
      fleet, std::move(options), std::move(priority).value(), std::move(placer).value()));
}

Scheduler::Scheduler(const Fleet& fleet, SchedulerOptions options, Priority priority,
                     std::unique_ptr<Placer> placer)
    : fleet_(fleet),
      options_(std::move(options)),
      priority_(std::move(priority)),
      placer_(std::move(placer)),
      state_(fleet),
      planner_(capacity_by_type(fleet)) {}

void Scheduler::submit(const QueuedJob& job, Seconds now) {
  Entry e{.job = job,
          .priority = priority_.of(job.submit, job.shape.total_gpus, job.account, job.qos, now)};
  auto first = [](const Entry& a, const Entry& b) {
    return before(a.priority, a.job, b.priority, b.job);
  };
  // Jobs mostly arrive in priority order (fifo: by submit), so this is an
  // append, known without a binary search through a queue that can hold
  // hundreds of thousands of jobs (a cache miss per step).
  if (queue_.size() == head_ || !first(e, queue_.back())) {
    queue_.push_back(std::move(e));
  } else {
    queue_.insert(std::upper_bound(queue_.begin() + static_cast<std::ptrdiff_t>(head_),
                                   queue_.end(), e, first),
                  std::move(e));
  }
  if (auto at = switch_wait_end(job)) switch_wait_ends_.insert(*at);
}

void Scheduler::end(JobId id, Seconds now) {
  const std::optional<std::uint32_t> slot = running_index_.find(id);
  if (!slot) return;
  Running& r = running_[*slot];
  if (r.end > now) easy_reservation_.reset();  // capacity came back early
  state_.give_back(r.placement);
  planner_.release(r.placement.gpu_type, r.start, r.end, planned_gpus(r.placement));
  priority_.charge(
      r.account,
      static_cast<double>(planned_gpus(r.placement)) * static_cast<double>((now - r.start).count()),
      now);
  r.id = JobIndex::kEmpty;
  running_index_.erase(id);
  free_slots_.push_back(*slot);
}

std::vector<JobId> Scheduler::node_down(std::uint32_t node, Seconds now) {
  std::vector<JobId> hit;
  for (const Running& r : running_) {
    if (r.id == JobIndex::kEmpty) continue;
    for (const NodeAlloc& a : r.placement.allocs) {
      if (a.node == node) {
        hit.push_back(r.id);
        break;
      }
    }
  }
  std::sort(hit.begin(), hit.end());  // deterministic order for the caller
  for (JobId id : hit) end(id, now);
  state_.set_up(node, false);
  return hit;
}

void Scheduler::node_up(std::uint32_t node) {
  state_.set_up(node, true);
}

std::optional<Seconds> Scheduler::next_wakeup(Seconds now) const {
  auto it = switch_wait_ends_.upper_bound(now);
  if (it == switch_wait_ends_.end()) return std::nullopt;
  return *it;
}

PlacementRequest Scheduler::shape_at(const QueuedJob& job, Seconds now) {
  PlacementRequest shape = job.shape;
  if (job.switches_wait && now - job.submit >= *job.switches_wait) {
    shape.max_switches.reset();  // waited long enough for the switch limit
  }
  return shape;
}

std::optional<Placement> Scheduler::try_place(const Entry& e, Seconds now) {
  const PlacementRequest shape = shape_at(e.job, now);
  // Cheap refusal before the placer: not enough whole GPUs free at all.
  if (shape.gpu_milli == 1000 && state_.free_whole_gpus() < shape.total_gpus) return std::nullopt;
  if (std::find(no_room_.begin(), no_room_.end(), shape) != no_room_.end()) return std::nullopt;
  std::optional<Placement> p = placer_->choose(state_, shape);
  if (!p) no_room_.push_back(shape);
  return p;
}

void Scheduler::start(Entry& e, Placement p, Seconds now, std::optional<Seconds> run) {
  state_.take(p);
  const Seconds end = now + std::max(Seconds{1}, run ? *run : options_.runtime(e.job, p));
  planner_.hold(p.gpu_type, now, end, planned_gpus(p));
  started_.push_back(Start{.id = e.job.id, .placement = p, .expected_end = end});
  Running r{.id = e.job.id,
            .account = e.job.account,
            .placement = std::move(p),
            .start = now,
            .end = end};
  std::uint32_t slot = 0;
  if (free_slots_.empty()) {
    slot = static_cast<std::uint32_t>(running_.size());
    running_.push_back(std::move(r));
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
    running_[slot] = std::move(r);
  }
  running_index_.insert(e.job.id, slot);
  retire(e);
}

void Scheduler::retire(Entry& e) {
  e.gone = true;
  ++gone_;
  if (auto at = switch_wait_end(e.job)) switch_wait_ends_.erase(switch_wait_ends_.find(*at));
}

bool Scheduler::withdraw(JobId id) {
  // A linear look: scancel of a pending job is rare next to scheduling passes,
  // which an index kept up to date on every insert would slow down.
  for (Entry& e : waiting()) {
    if (e.gone || e.job.id != id) continue;
    retire(e);  // EASY's reservation moves on with the next first job (reserve())
    return true;
  }
  return false;
}

std::optional<std::pair<Seconds, GpuTypeId>> Scheduler::earliest(const QueuedJob& job,
                                                                 Seconds now) const {
  std::optional<std::pair<Seconds, GpuTypeId>> best;
  for (GpuTypeId t : fleet_.gpu_types_present()) {
    if (job.shape.types.any() && !job.shape.types.test(t)) continue;
    if (fleet_.catalog().at(t).mem_gb < job.shape.min_gpu_mem_gb) continue;
    std::optional<Seconds> s =
        planner_.earliest(t, now, std::max(Seconds{1}, job.estimate), job.shape.total_gpus);
    if (s && (!best || *s < best->first)) best = std::pair{*s, t};
  }
  return best;
}

void Scheduler::order_queue(Seconds now) {
  if (priority_.is_fifo()) return;  // submit order never changes
  if (last_priority_calc_ && now - *last_priority_calc_ < options_.priority_period) return;
  last_priority_calc_ = now;
  for (Entry& e : waiting()) {
    e.priority = priority_.of(e.job.submit, e.job.shape.total_gpus, e.job.account, e.job.qos, now);
  }
  std::stable_sort(queue_.begin(), queue_.end(), [](const Entry& a, const Entry& b) {
    if (a.gone != b.gone) return a.gone;  // started entries stay in the skipped prefix
    return before(a.priority, a.job, b.priority, b.job);
  });
  head_ = gone_;
}

void Scheduler::compact() {
  // Jobs mostly start from the front: skip the started prefix for free, and
  // erase started entries only once they are a quarter of the queue.
  while (head_ < queue_.size() && queue_[head_].gone) ++head_;
  if (gone_ < 64 || gone_ * 4 < queue_.size()) return;
  std::erase_if(queue_, [](const Entry& e) { return e.gone; });
  gone_ = 0;
  head_ = 0;
}

void Scheduler::close_gaps() {
  // Backfill starts jobs from anywhere in the part of the queue a pass looks
  // at, and every later pass stepped over them again until the next
  // compaction: at a million jobs, more than half the pass loop's time. Here
  // the waiting entries of that part move to its end, in their order, and
  // the gone ones collect in the skipped prefix. O(the part), as the pass was.
  // A pass that started every waiting job it looked at (an idle fleet)
  // left nothing to move.
  if (scanned_waiting_ == started_.size()) {
    head_ = std::max(head_, scanned_end_);
    return;
  }
  std::size_t w = scanned_end_;
  for (std::size_t i = scanned_end_; i-- > head_;) {
    if (queue_[i].gone) continue;
    if (--w != i) {
      queue_[w] = std::move(queue_[i]);
      queue_[i].gone = true;  // moved away
    }
  }
  head_ = w;
}

std::span<Scheduler::Entry> Scheduler::waiting() {
  return std::span(queue_).subspan(head_);
}

void Scheduler::scanned(const Entry& e) {
  scanned_end_ = static_cast<std::size_t>(&e - queue_.data()) + 1;
  scanned_waiting_ += e.gone ? 0 : 1;
}

namespace {

// std::vector::reserve allocates exactly what it is asked for, so a need that
// creeps up pass by pass would copy the vector on every pass; this keeps the
// growth geometric.
template <class T>
void reserve_geometric(std::vector<T>& v, std::size_t n) {
  if (n > v.capacity()) v.reserve(std::max(n, 2 * v.capacity()));
}

}  // namespace

const std::vector<Start>& Scheduler::schedule(Seconds now) {
  planner_.advance(now);
  no_room_.clear();
  compact();
  order_queue(now);
  scanned_end_ = head_;
  scanned_waiting_ = 0;
  started_.clear();
  // Room for every start this pass can make (one per waiting job, at most one
  // per free GPU but for shares) before it begins: a burst of starts, a full
  // queue meeting an idle fleet, otherwise copies the running slots and
  // rehashes their index over and over.
  const std::size_t can_start = std::min<std::size_t>(queued(), state_.free_whole_gpus());
  reserve_geometric(started_, can_start);
  reserve_geometric(running_,
                    running_.size() + can_start - std::min(can_start, free_slots_.size()));
  running_index_.reserve(running_index_.size() + can_start);
  if (options_.queue == "fcfs") {
    fcfs(now);
  } else if (options_.queue == "easy") {
    easy(now);
  } else {
    conservative(now);
  }
  close_gaps();
  return started_;
}

void Scheduler::fcfs(Seconds now) {
  for (Entry& e : waiting()) {
    scanned(e);
    if (e.gone) continue;
    std::optional<Placement> p = try_place(e, now);
    if (!p) break;
    start(e, std::move(*p), now);
  }
}

void Scheduler::reserve(const QueuedJob& head, Seconds now) {
  std::optional<EasyReservation>& reserved = easy_reservation_;
  if (reserved && (reserved->head != head.id || reserved->at <= now)) reserved.reset();
  if (reserved) return;
  if (auto when = earliest(head, now)) {
    const std::uint64_t free = planner_.free_at(when->second, when->first);
    const std::uint64_t need = head.shape.total_gpus;
    reserved = EasyReservation{head.id, when->second, when->first, free > need ? free - need : 0};
  }
}

bool Scheduler::surely_delays(Entry& e, const QueuedJob& head, bool& checked, Seconds now) {
  // Skipping the placer is only invisible when the placer draws no random numbers.
  if (!options_.min_runtime || placer_->randomized()) return false;
  const PlacementRequest shape = shape_at(e.job, now);
  if (!Placer::is_free_split(shape) || state_.free_whole_gpus() < shape.total_gpus) return false;
  const std::optional<GpuTypeId> type = placer_->free_split_type(state_, shape);
  if (!type) return false;  // no room: try_place says so as cheaply
  // The job has a placement, so the reservation is due (as in easy()).
  if (!checked) {
    checked = true;
    reserve(head, now);
  }
  const std::optional<EasyReservation>& reserved = easy_reservation_;
  // A type other than the reserved one, or no more than its spare GPUs, delays nothing.
  if (!reserved || *type != reserved->type || shape.total_gpus <= reserved->extra) return false;
  if (!e.floor || e.floor_type != *type) {
    e.floor = options_.min_runtime(e.job, *type);
    e.floor_type = *type;
  }
  return now + *e.floor > reserved->at;
}

void Scheduler::easy(Seconds now) {
  const Entry* head = nullptr;  // the first job that has to wait
  std::optional<EasyReservation>& reserved = easy_reservation_;
  bool checked = false;  // the reservation is looked at on first need
  std::uint32_t tried = 0;
  for (Entry& e : waiting()) {
    scanned(e);
    if (e.gone) continue;
    if (head && ++tried > options_.backfill_depth) break;
    if (head && surely_delays(e, head->job, checked, now)) continue;
    std::optional<Placement> p = try_place(e, now);
    if (!head) {
      if (p) {
        start(e, std::move(*p), now);
        continue;
      }
      head = &e;
      continue;
    }
    if (!p) continue;
    if (!checked) {
      checked = true;
      reserve(head->job, now);
    }
    std::optional<Seconds> run;
    if (reserved) {
      run = options_.runtime(e.job, *p);
      const std::uint64_t gpus = planned_gpus(*p);
      const bool clear = now + *run <= reserved->at || p->gpu_type != reserved->type;
      if (!clear && gpus > reserved->extra) continue;  // would delay the reservation
      if (!clear) reserved->extra -= gpus;
    }
    start(e, std::move(*p), now, run);
  }
}

void Scheduler::conservative(Seconds now) {
  struct Hold {
    GpuTypeId type;
    Seconds from, to;
    std::uint64_t gpus;
  };
  std::vector<Hold> holds;  // this pass's reservations, dropped at its end
  std::uint32_t tried = 0;
  for (Entry& e : waiting()) {
    scanned(e);
    if (e.gone) continue;
    if (++tried > options_.backfill_depth) break;
    std::optional<std::pair<Seconds, GpuTypeId>> when = earliest(e.job, now);
    if (!when) continue;  // more than the fleet has of any acceptable type
    if (when->first == now) {
      if (std::optional<Placement> p = try_place(e, now)) {
        const Seconds run = std::max(Seconds{1}, options_.runtime(e.job, *p));
        if (planner_.earliest(p->gpu_type, now, run, planned_gpus(*p)) == now) {
          start(e, std::move(*p), now, run);
          continue;
        }
      }
    }
    const Seconds run = std::max(Seconds{1}, e.job.estimate);
    holds.push_back({when->second, when->first, when->first + run, e.job.shape.total_gpus});
    planner_.hold(when->second, when->first, when->first + run, e.job.shape.total_gpus);
  }
  for (const Hold& h : holds) planner_.release(h.type, h.from, h.to, h.gpus);
}

}  // namespace flotilla
