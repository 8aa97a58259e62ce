#include "simulator/simulation.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>

#include "simulator/event_queue.h"

namespace flotilla {
namespace {

enum class EventKind : std::uint8_t { kEnd, kNodeDown, kNodeUp };

// Events at the same time are handled in the order they were created.
struct Event {
  Seconds at{0};
  std::uint64_t seq = 0;  // creation number: names a job's latest end event
  std::uint32_t id = 0;   // job index or node
  EventKind kind = EventKind::kEnd;
};

// 128-bit arithmetic for money: price x GPUs x seconds can pass 2^64 before
// it is divided down (GCC and Clang extension, hence __extension__).
__extension__ using Uint128 = unsigned __int128;

std::uint64_t cost_micro_usd(const Fleet& fleet, const Placement& p, Seconds run) {
  Uint128 sum = 0;
  for (const NodeAlloc& a : p.allocs) {
    const Node& n = fleet.nodes()[a.node];
    const Uint128 per_second_milli =
        static_cast<Uint128>(n.price_micro_usd_per_gpu_hour) *
        (a.milli < 1000 ? a.milli : 1000u * static_cast<unsigned>(std::popcount(a.gpu_mask)));
    sum += per_second_milli * static_cast<std::uint64_t>(run.count());
  }
  return static_cast<std::uint64_t>(sum / (3600u * 1000u));
}

class Simulation {
 public:
  Simulation(const Fleet& fleet, const Trace& trace, const PerfModel& model,
             const SimOptions& options)
      : fleet_(fleet), trace_(trace), model_(model), options_(options), rng_(options.seed) {
    result_.fleet = fleet.name();
    result_.fleet_gpus = fleet.total_gpus();
    capacity_.assign(fleet.catalog().size(), 0);
    largest_node_.assign(fleet.catalog().size(), 0);
    for (const Node& n : fleet.nodes()) {
      capacity_[n.gpu_type] += n.gpu_count;
      largest_node_[n.gpu_type] = std::max<unsigned>(largest_node_[n.gpu_type], n.gpu_count);
    }
  }

  Result<SimResult> run() {
    if (trace_.jobs.size() > std::numeric_limits<std::uint32_t>::max()) {
      return Status::error("the simulator indexes jobs with 32 bits: split the trace");
    }
    SchedulerOptions so = options_.scheduler;
    so.runtime = [this](const QueuedJob& q, const Placement& p) {
      const Seconds run = runtime(q.id, p);
      const std::optional<Seconds>& limit = trace_.jobs[q.id].time_limit;
      return options_.plan_by_time_limit && limit ? std::max(run, *limit) : run;
    };
    // A failing model falls back to the estimate above, so the bound must too.
    so.min_runtime = [this](const QueuedJob& q, GpuTypeId t) {
      if (q.shape.exclusive) return Seconds{0};  // whole nodes: more GPUs than asked for
      Result<Seconds> r =
          model_.min_runtime(trace_.jobs[q.id], t, q.shape.total_gpus, q.shape.gpu_milli);
      return r ? std::min(*r, q.estimate) : q.estimate;
    };
    Result<std::unique_ptr<Scheduler>> sched = Scheduler::create(fleet_, so);
    if (!sched) return sched.status();
    sched_ = std::move(sched).value();

    result_.jobs.resize(trace_.jobs.size());
    runs_.assign(trace_.jobs.size(), Run{});
    for (const NodeOutage& o : options_.outages) {
      push(o.down, EventKind::kNodeDown, o.node);
      push(o.up, EventKind::kNodeUp, o.node);
    }
    for (std::uint32_t n = 0; n < fleet_.nodes().size(); ++n) {
      if (mtbf_hours(n) > 0) schedule_failure(n, Seconds{0});
    }

    std::size_t next_submit = 0, reported = 0;
    std::optional<Seconds> wakeup;
    while (true) {
      const bool work_left =
          next_submit < trace_.jobs.size() || sched_->running() > 0 || sched_->queued() > 0;
      if (!work_left) break;
      std::optional<Seconds> t;
      if (next_submit < trace_.jobs.size()) t = trace_.jobs[next_submit].submit;
      if (!events_.empty() && (!t || events_.top().at < *t)) t = events_.top().at;
      if (wakeup && (!t || *wakeup < *t)) t = wakeup;
      // With nothing running, nothing left to submit and every node up, only
      // more failures could happen: the queue cannot move any more.
      if (!t || (next_submit == trace_.jobs.size() && sched_->running() == 0 && !wakeup &&
                 nodes_down_ == 0)) {
        break;
      }
      const Seconds now = *t;
      while (next_submit < trace_.jobs.size() && trace_.jobs[next_submit].submit == now) {
        submit(next_submit++, now);
      }
      while (!events_.empty() && events_.top().at == now) {
        const Event e = events_.top();
        events_.pop();
        handle(e);
      }
      for (const Start& s : sched_->schedule(now)) started(s, now);
      wakeup = sched_->next_wakeup(now);
      sample(now);
      if (options_.progress && trace_.jobs.size() > 0 &&
          next_submit * 100 / trace_.jobs.size() > reported) {
        reported = next_submit * 100 / trace_.jobs.size();
        options_.progress(static_cast<double>(next_submit) /
                          static_cast<double>(trace_.jobs.size()));
      }
    }
    // Jobs still waiting when nothing else can happen never found room.
    for (std::size_t i = 0; i < trace_.jobs.size(); ++i) {
      if (!started_ever(i) && result_.jobs[i].outcome == JobOutcome::kCompleted) {
        reject(i, "never placed: no room for its shape even on an otherwise idle fleet");
      }
    }
    return std::move(result_);
  }

 private:
  // Returns the event's sequence number.
  std::uint64_t push(Seconds at, EventKind kind, std::uint64_t id) {
    events_.push(
        Event{.at = at, .seq = ++seq_, .id = static_cast<std::uint32_t>(id), .kind = kind});
    return seq_;
  }

  bool started_ever(std::size_t i) const { return runs_[i].end_seq > 0; }

  // The MTBF of one GPU of the node's type; 0: the node never fails by chance.
  double mtbf_hours(std::uint32_t node) const {
    const auto it = options_.gpu_mtbf_hours_by_type.find(fleet_.nodes()[node].gpu_type);
    return it != options_.gpu_mtbf_hours_by_type.end() ? it->second : options_.gpu_mtbf_hours;
  }

  void schedule_failure(std::uint32_t node, Seconds from) {
    const Node& n = fleet_.nodes()[node];
    const double rate_per_s = n.gpu_count / (mtbf_hours(node) * 3600.0);
    std::exponential_distribution<double> gap(rate_per_s);
    push(from + Seconds{static_cast<std::int64_t>(std::ceil(gap(rng_)))}, EventKind::kNodeDown,
         node);
  }

  std::uint32_t reason_index(const std::string& reason) {
    auto& r = result_.rejection_reasons;
    auto it = std::find(r.begin(), r.end(), reason);
    if (it != r.end()) return static_cast<std::uint32_t>(it - r.begin());
    r.push_back(reason);
    return static_cast<std::uint32_t>(r.size() - 1);
  }

  void reject(std::size_t i, const std::string& reason) {
    JobRecord& rec = result_.jobs[i];
    rec.outcome = JobOutcome::kRejected;
    rec.rejection = reason_index(reason);
  }

  void submit(std::size_t i, Seconds now) {
    const TraceJob& tj = trace_.jobs[i];
    JobRecord& rec = result_.jobs[i];
    rec.id = tj.id;
    rec.workload = tj.workload;
    rec.submit = tj.submit;
    rec.gpu_milli = tj.shape.gpu_milli;
    Result<PlacementRequest> shape = fitted_shape(i);
    if (!shape) return reject(i, shape.message());
    sched_->submit(queued(i, *shape), now);
  }

  // The shape the job is queued with on this fleet: its acceptable types cut
  // to those present whose memory holds it, or more GPUs of one type when its
  // model has to be sharded. An error is the reason to reject it. Computed
  // again when a failure requeues the job (the same answer, since fleet and
  // model do not change), rather than kept for each of a million jobs.
  Result<PlacementRequest> fitted_shape(std::size_t i) const {
    const TraceJob& tj = trace_.jobs[i];
    PlacementRequest shape = tj.shape;

    // The acceptable types this fleet has, then those the job's memory fits.
    GpuTypeSet present, fits;
    std::string memory_reason;
    for (GpuTypeId t : fleet_.gpu_types_present()) {
      if (shape.types.any() && !shape.types.test(t)) continue;
      if (fleet_.catalog().at(t).mem_gb < shape.min_gpu_mem_gb) continue;
      present.set(t);
      std::optional<std::string> why = model_.rejection(tj, t, shape.total_gpus);
      if (!why) {
        fits.set(t);
      } else if (memory_reason.empty()) {
        memory_reason = *why;
      }
    }
    if (present.none()) return Status::error("no GPU of an acceptable type in this fleet");
    if (fits.none()) {
      // Shard a shardable model over more GPUs of the type that needs fewest.
      std::optional<std::pair<unsigned, GpuTypeId>> grown;
      if (tj.work.model && tj.work.model->shardable) {
        for (GpuTypeId t : fleet_.gpu_types_present()) {
          if (!present.test(t)) continue;
          const unsigned g = model_.min_gpus(tj, t);
          if (g > 0 && g <= capacity_[t] && (!grown || g < grown->first)) grown = std::pair{g, t};
        }
      }
      if (!grown) return Status::error(memory_reason);
      shape.total_gpus = grown->first;
      shape.gpus_per_node = 0;
      shape.nodes = 0;
      fits.reset();
      fits.set(grown->second);
    }
    shape.types = fits;
    // Can the idle fleet hold the shape at all?
    std::uint64_t gpus = 0;
    unsigned largest = 0;
    for (GpuTypeId t = 0; t < capacity_.size(); ++t) {
      if (!fits.test(t)) continue;
      gpus = std::max<std::uint64_t>(gpus, capacity_[t]);
      largest = std::max(largest, largest_node_[t]);
    }
    if (gpus < shape.total_gpus) {
      return Status::error("wants more GPUs of one acceptable type than the fleet has");
    }
    if (shape.gpus_per_node > largest) {
      return Status::error("wants more GPUs on one node than any acceptable node has");
    }
    return shape;
  }

  // The job's true run time on `p`; its estimate when the model has none.
  Seconds runtime(std::size_t i, const Placement& p) const {
    const TraceJob& tj = trace_.jobs[i];
    Result<Seconds> r = model_.runtime(tj, p, fleet_);
    return r ? *r : estimate(tj);
  }

  static Seconds estimate(const TraceJob& tj) {
    return tj.time_limit.value_or(tj.work.reference_runtime);
  }

  QueuedJob queued(std::size_t i, const PlacementRequest& shape) const {
    const TraceJob& tj = trace_.jobs[i];
    return QueuedJob{.id = i,
                     .shape = shape,
                     .submit = tj.submit,
                     .estimate = estimate(tj),
                     .account = tj.account,
                     .qos = tj.qos};
  }

  void started(const Start& s, Seconds now) {
    JobRecord& rec = result_.jobs[s.id];
    // Planned to its time limit, the job still ends when its work is done.
    const Seconds run = options_.plan_by_time_limit
                            ? std::max(Seconds{1}, runtime(s.id, s.placement))
                            : s.expected_end - now;
    rec.start = now;
    rec.end = now + run;
    rec.gpus = s.placement.gpus();
    rec.gpu_type = s.placement.gpu_type;
    rec.level = s.placement.level;
    rec.cost_micro_usd += cost_micro_usd(fleet_, s.placement, run);
    rec.energy_joules += PerfModel::energy_joules(s.placement, fleet_, run);
    busy_ += planned_gpus(s.placement);
    runs_[s.id] =
        Run{.end_seq = push(rec.end, EventKind::kEnd, s.id), .held = planned_gpus(s.placement)};
  }

  void finished(std::uint64_t id) {
    busy_ -= runs_[id].held;
    runs_[id].held = 0;
  }

  void handle(const Event& e) {
    switch (e.kind) {
      case EventKind::kEnd:
        if (e.seq != runs_[e.id].end_seq || runs_[e.id].held == 0) return;  // killed earlier
        sched_->end(e.id, e.at);
        finished(e.id);
        result_.jobs[e.id].outcome = JobOutcome::kCompleted;
        return;
      case EventKind::kNodeDown: {
        if (!sched_->state().is_up(static_cast<std::uint32_t>(e.id))) return;  // already down
        ++nodes_down_;
        for (JobId id : sched_->node_down(static_cast<std::uint32_t>(e.id), e.at)) {
          finished(id);
          JobRecord& rec = result_.jobs[id];
          // The time it ran is paid for and spent; its end is now.
          const Seconds planned = rec.end - rec.start;
          const Seconds ran = e.at - rec.start;
          if (planned.count() > 0) {
            const double unused =
                1.0 - static_cast<double>(ran.count()) / static_cast<double>(planned.count());
            rec.cost_micro_usd -= static_cast<std::uint64_t>(
                std::llround(unused * static_cast<double>(rec.cost_micro_usd)));
            rec.energy_joules *= 1.0 - unused;
          }
          rec.end = e.at;
          if (trace_.jobs[id].requeue && rec.requeues < options_.max_requeues) {
            ++rec.requeues;
            sched_->submit(queued(id, fitted_shape(id).value()), e.at);
          } else {
            rec.outcome = JobOutcome::kFailed;
          }
        }
        if (mtbf_hours(e.id) > 0) push(e.at + options_.repair_time, EventKind::kNodeUp, e.id);
        return;
      }
      case EventKind::kNodeUp:
        if (sched_->state().is_up(static_cast<std::uint32_t>(e.id))) return;
        --nodes_down_;
        sched_->node_up(static_cast<std::uint32_t>(e.id));
        if (mtbf_hours(e.id) > 0) schedule_failure(e.id, e.at);
        return;
    }
  }

  void sample(Seconds now) {
    auto& s = result_.series;
    if (!s.empty() && now - s.back().at < options_.series_step &&
        !(sched_->running() == 0 && sched_->queued() == 0)) {
      return;
    }
    s.push_back({now, busy_, sched_->queued()});
  }

  const Fleet& fleet_;
  const Trace& trace_;
  const PerfModel& model_;
  const SimOptions& options_;
  std::mt19937_64 rng_;
  std::unique_ptr<Scheduler> sched_;
  SimResult result_;
  std::vector<std::uint64_t> capacity_;
  std::vector<unsigned> largest_node_;
  MonotoneEventQueue<Event> events_;
  std::uint64_t seq_ = 0;
  // Per job, indexed like the trace, side by side since every end event
  // reads both (a cache miss each at a million jobs):
  struct Run {
    // The sequence number of the end event of its latest start (0: never
    // started), so the end of a start that a failure cut short is ignored.
    std::uint64_t end_seq = 0;
    std::uint64_t held = 0;  // GPUs it holds while running (0 when not running)
  };
  std::vector<Run> runs_;
  std::uint64_t busy_ = 0;
  std::uint64_t nodes_down_ = 0;
};

}  // namespace

Result<SimResult> simulate(const Fleet& fleet, const Trace& trace, const PerfModel& model,
                           const SimOptions& options) {
  return Simulation(fleet, trace, model, options).run();
}

Result<std::vector<NodeOutage>> read_outages(const std::string& path, const Fleet& fleet) {
  std::ifstream in(path);
  if (!in) return Status::error(path + ": cannot open outage file");
  std::vector<NodeOutage> out;
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::stringstream ss(line);
    std::string name, down, up;
    if (!std::getline(ss, name, ',') || !std::getline(ss, down, ',') || !std::getline(ss, up)) {
      return Status::at(path, n, "expected node,down_s,up_s");
    }
    auto trim = [](std::string& s) {
      s.erase(0, s.find_first_not_of(" \t"));
      s.erase(s.find_last_not_of(" \t\r") + 1);
    };
    trim(name);
    trim(down);
    trim(up);
    std::optional<std::uint32_t> node = fleet.find_node(name);
    if (!node) return Status::at(path, n, "unknown node '" + name + "'");
    std::int64_t d = 0, u = 0;
    try {
      std::size_t used = 0;
      d = std::stoll(down, &used);
      if (used != down.size()) throw std::invalid_argument("trailing");
      u = std::stoll(up, &used);
      if (used != up.size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      return Status::at(path, n, "down and up must be whole seconds");
    }
    if (d < 0 || u <= d) return Status::at(path, n, "need 0 <= down < up");
    out.push_back({*node, Seconds{d}, Seconds{u}});
  }
  return out;
}

}  // namespace flotilla
