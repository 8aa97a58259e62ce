// One simulation run: a trace replayed on a fleet through the scheduling core
// (scheduler/scheduler.h) on a virtual clock. Events are job submissions, job
// ends, node failures and recoveries, and wake-ups the scheduler asks for; all
// events at one instant are applied before the scheduler runs once. Runtimes
// come from the performance model for the placement actually chosen. Every
// input is fixed by the trace and the options, so a run is deterministic.
// Thread-safe to run several simulations at once (they share only immutable
// inputs).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "scheduler/scheduler.h"
#include "simulator/perf_model.h"
#include "traces/trace.h"

namespace flotilla {

// A node goes down at `down` and comes back at `up`.
struct NodeOutage {
  std::uint32_t node = 0;
  Seconds down{0}, up{0};
};

struct SimOptions {
  SchedulerOptions scheduler;
  std::vector<NodeOutage> outages;  // injected failures (see read_outages)
  // Failures drawn per GPU type: mean time between failures of one GPU, in
  // hours (0: none), and how long a repair takes. Seeded by `seed`. A node
  // fails at the rate of its GPUs together. Types listed in
  // gpu_mtbf_hours_by_type (catalog id -> hours) take that figure instead: a
  // data-centre H100 and a gaming card in a home do not fail alike.
  double gpu_mtbf_hours = 0;
  std::map<GpuTypeId, double> gpu_mtbf_hours_by_type;
  Seconds repair_time{4 * 3600};
  // A job that asked to be requeued on node failure fails on the failure
  // after this many requeues, as Slurm holds a batch job requeued more than
  // MaxBatchRequeue times (default 5, slurm.conf). Without a limit, a job
  // whose GPUs see a failure sooner than it could finish (512 GPUs for days
  // at a few thousand hours MTBF each) would be restarted for ever and the
  // simulation would never end.
  std::uint32_t max_requeues = 5;
  std::uint64_t seed = 1;
  Seconds series_step{60};  // sampling interval of the busy-GPU / queue series
  // Plan each running job to its time limit, as Slurm's backfill does, and
  // learn of its end only when it happens. Off: the planner knows the true
  // run time from the performance model (the best a scheduler could do).
  bool plan_by_time_limit = false;
  // Called now and then with the share of the trace submitted so far.
  std::function<void(double)> progress;
};

enum class JobOutcome : std::uint8_t { kCompleted, kRejected, kFailed };

struct JobRecord {
  std::uint64_t id = 0;
  WorkloadClass workload = WorkloadClass::kUnknown;
  JobOutcome outcome = JobOutcome::kCompleted;
  Seconds submit{0}, start{0}, end{0};
  std::uint32_t gpus = 0;  // whole GPUs held (0 for a share)
  std::uint16_t gpu_milli = 1000;
  GpuTypeId gpu_type = 0;
  Level level = Level::kNode;  // topology level of the placement
  std::uint32_t requeues = 0;  // times a node failure sent it back to the queue
  std::uint64_t cost_micro_usd = 0;
  double energy_joules = 0;
  std::uint32_t rejection = 0;  // index into SimResult::rejection_reasons (rejected jobs)
};

struct SeriesPoint {
  Seconds at{0};
  std::uint64_t busy_gpus = 0;
  std::uint64_t queued_jobs = 0;
};

struct SimResult {
  std::string fleet;
  std::uint64_t fleet_gpus = 0;
  std::vector<JobRecord> jobs;                 // in trace order
  std::vector<std::string> rejection_reasons;  // distinct reasons
  std::vector<SeriesPoint> series;
};

Result<SimResult> simulate(const Fleet& fleet, const Trace& trace, const PerfModel& model,
                           const SimOptions& options);

// Reads injected outages, CSV lines "node,down_s,up_s" (node by name; '#'
// starts a comment). Errors name file and line.
Result<std::vector<NodeOutage>> read_outages(const std::string& path, const Fleet& fleet);

}  // namespace flotilla
