// Scheduler: the core that both the simulator and the live controller drive.
// It takes events (a job submitted, a job ended, a node down or up) and, when
// asked to schedule at a given time, returns decisions: start job J on these
// GPUs. It reads no clock, file or socket; time is always passed in.
//
// Queue policies, selected by name (a preset is a bundle of these options):
//   fcfs          start jobs in priority order; stop at the first that waits
//   easy          EASY backfill: the first waiting job gets a reservation at
//                 the earliest time the planner sees room for it; later jobs
//                 start now if they end before it or leave it enough GPUs
//   conservative  every waiting job (up to backfill_depth) gets a reservation
//                 in priority order; a job starts now only if that delays none
// Priority (fifo or multifactor, see priority.h) orders the queue for all three.
// Not thread-safe; one Scheduler per controller or simulation run.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "scheduler/fleet_state.h"
#include "scheduler/job_index.h"
#include "scheduler/placer.h"
#include "scheduler/planner.h"
#include "scheduler/priority.h"

namespace flotilla {

using JobId = std::uint64_t;

struct QueuedJob {
  JobId id = 0;
  PlacementRequest shape;
  Seconds submit{0};
  Seconds estimate{0};  // expected run time: its time limit, or a model's estimate
  std::uint32_t account = 0;
  std::uint8_t qos = 0;
  // --switches=N@WAIT: after waiting this long the switch limit is dropped.
  std::optional<Seconds> switches_wait;
};

struct Start {
  JobId id = 0;
  Placement placement;
  Seconds expected_end{0};
};

struct SchedulerOptions {
  std::string queue = "easy";  // fcfs, easy, conservative
  std::string placement = "best-fit";
  PlacerOptions placer;
  PriorityOptions priority;
  // Waiting jobs a backfill pass tries past the first one that waits
  // (Slurm's bf_max_job_test, whose default is 500; smaller keeps passes cheap).
  std::uint32_t backfill_depth = 100;
  Seconds priority_period{300};  // how often multifactor priorities are recomputed
  // How long a job will run once placed; default: its estimate.
  std::function<Seconds(const QueuedJob&, const Placement&)> runtime;
  // At most what `runtime` gives for any placement of the job on GPUs of one
  // type. EASY uses it to pass over a job that would surely run into the
  // reservation without placing and costing it. Default: the estimate when
  // `runtime` is the default; none (every job is placed) otherwise.
  std::function<Seconds(const QueuedJob&, GpuTypeId)> min_runtime;
};

class Scheduler {
 public:
  static Result<std::unique_ptr<Scheduler>> create(const Fleet& fleet, SchedulerOptions options);

  void submit(const QueuedJob& job, Seconds now);
  // A queued job leaves the queue before it starts (scancel of a pending
  // job), so it holds no reservation and delays no one from now on. False if
  // it is not waiting here (already started, withdrawn or never submitted).
  bool withdraw(JobId id);
  // A running job ended: its GPUs come back and its usage is charged.
  void end(JobId id, Seconds now);
  // The node fails: the jobs running on it are ended and returned (the caller
  // requeues or fails them).
  std::vector<JobId> node_down(std::uint32_t node, Seconds now);
  void node_up(std::uint32_t node);
  // Starts what the queue policy allows at `now`; the GPUs are taken. The
  // list is valid until the next call (kept, not allocated per pass).
  const std::vector<Start>& schedule(Seconds now);

  // The next time after `now` a waiting job's --switches wait runs out, if
  // any: schedule again then.
  std::optional<Seconds> next_wakeup(Seconds now) const;

  std::size_t queued() const { return queue_.size() - gone_; }
  std::size_t running() const { return running_index_.size(); }
  const FleetState& state() const { return state_; }

 private:
  struct Entry {
    QueuedJob job;
    double priority = 0;
    bool gone = false;  // started or withdrawn; removed at the next compaction
    // min_runtime of the job on one type, kept: passes ask again and again.
    GpuTypeId floor_type = 0;
    std::optional<Seconds> floor;
  };
  // What ending a running job needs, no more: a million of these are
  // written and read once each in a large simulation.
  struct Running {
    JobId id = JobIndex::kEmpty;  // kEmpty: a free slot
    std::uint32_t account = 0;
    Placement placement;
    Seconds start{0}, end{0};
  };
  Scheduler(const Fleet& fleet, SchedulerOptions options, Priority priority,
            std::unique_ptr<Placer> placer);
  // The job's shape at `now`: its switch limit dropped once it waited long enough.
  static PlacementRequest shape_at(const QueuedJob& job, Seconds now);
  // Placement for a waiting job now, or nullopt. Within one pass the fleet
  // only fills up, so a shape that found no room once is not tried again.
  std::optional<Placement> try_place(const Entry& e, Seconds now);
  // Sets easy_reservation_ for `head`, the first waiting job, unless it still holds.
  void reserve(const QueuedJob& head, Seconds now);
  // True when EASY would place `e` now and then refuse it for delaying the
  // reservation, known without placing it: its free split lands on the
  // reserved type, needs more than the spare GPUs, and even its shortest
  // runtime there ends after the reservation starts. `checked`: whether this
  // pass has looked at the reservation for `head` yet.
  bool surely_delays(Entry& e, const QueuedJob& head, bool& checked, Seconds now);
  // Marks a waiting entry gone (started or withdrawn).
  void retire(Entry& e);
  // Takes the GPUs and adds the start to started_; `run` is the job's
  // runtime on `p` when already known.
  void start(Entry& e, Placement p, Seconds now, std::optional<Seconds> run = std::nullopt);
  // Earliest start the planner sees for the job over its acceptable types.
  std::optional<std::pair<Seconds, GpuTypeId>> earliest(const QueuedJob& job, Seconds now) const;
  void order_queue(Seconds now);
  void compact();
  // Gathers the gone entries of the part of the queue this pass looked at
  // (up to scanned_end_) into the skipped prefix.
  void close_gaps();
  void scanned(const Entry& e);  // the pass has looked at `e`
  std::span<Entry> waiting();    // the queue past the started prefix
  void fcfs(Seconds now);
  void easy(Seconds now);
  void conservative(Seconds now);

  const Fleet& fleet_;
  SchedulerOptions options_;
  Priority priority_;
  std::unique_ptr<Placer> placer_;
  FleetState state_;
  Planner planner_;
  std::vector<Entry> queue_;         // priority order (highest first), with gone entries
  std::size_t gone_ = 0;             // entries marked gone
  std::size_t head_ = 0;             // queue_[0, head_) are all gone
  std::size_t scanned_end_ = 0;      // one past the last entry this pass looked at
  std::size_t scanned_waiting_ = 0;  // of those, how many were waiting when looked at
  // Running jobs in slots, reused through free_slots_; the index finds a
  // job's slot by its id.
  std::vector<Running> running_;
  std::vector<std::uint32_t> free_slots_;
  JobIndex running_index_;
  std::optional<Seconds> last_priority_calc_;
  // When the --switches waits of queued jobs run out (few jobs have one).
  std::multiset<Seconds> switch_wait_ends_;
  std::vector<PlacementRequest> no_room_;  // shapes that failed in this pass
  std::vector<Start> started_;             // what this pass started
  // EASY's reservation for the first waiting job, kept across passes: only an
  // early end, a node going down or up, or a new first job can move it (later
  // jobs start only if they do not delay it, and planned ends change nothing
  // after now). Walking the planner for it on every pass was the costly part.
  struct EasyReservation {
    JobId head;
    GpuTypeId type;
    Seconds at;
    std::uint64_t extra;  // GPUs of `type` free at `at` beyond what the head needs
  };
  std::optional<EasyReservation> easy_reservation_;
};

// GPUs a placement holds as the planner counts them: a share counts whole.
std::uint64_t planned_gpus(const Placement& p);

}  // namespace flotilla
