// The executor's jobs: starts batch scripts (clone/exec through the script's
// shebang, in the submit directory, with the environment, stdout/stderr files
// and process group the controller asked for), enforces time limits and
// cancels (SIGTERM, grace, SIGKILL to the whole process group, --signal warnings
// before the limit) and reaps them into JobExit reports, with the energy its
// GPUs used where NVML counts it. No MPI and no clock of its own: the agent
// passes `now` in, so tests drive it directly.
// Owns its child processes; not thread-safe, one per executor.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "executor/nvml.h"
#include "scheduler/protocol.h"
#include "scheduler/status.h"

namespace flotilla::executor {

class JobRunner {
 public:
  // `nvml` (may be null: no energy figures) must outlive the runner.
  explicit JobRunner(const Nvml* nvml = nullptr) : nvml_(nvml) {}
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;
  ~JobRunner();  // kills every job still running

  // Starts the script; errors (spool not writable, output file not openable,
  // script not executable, interpreter missing) mean nothing runs. A copy of
  // the same job still running here is stale: it is killed and never reported.
  Status launch(const protocol::Launch& spec, std::int64_t now_ms);
  // scancel: SIGCONT and SIGTERM now, SIGKILL after the job's grace period.
  // Unknown ids are ignored (the job may have just ended). A metered-only
  // job stops being counted (the controller cancels what a node lost while it
  // was down, whose meter_end never came).
  void cancel(std::uint64_t job_id, std::int64_t now_ms);
  // Sends due --signal warnings, time-limit SIGTERMs and SIGKILLs.
  void tick(std::int64_t now_ms);
  // Jobs whose script ended since the last call; what was left of their
  // process groups is killed. A report carries energy_j, what NVML's energy
  // counters of the job's GPUs (Launch::gpus) rose by between its launch and
  // now, only where every one of them could be read both times.
  std::vector<protocol::JobExit> reap();

  // Scripts running here; metered-only jobs (below) are not among them.
  std::vector<std::uint64_t> running() const;

  // The other nodes of a multi-node job run no script here, yet their GPUs'
  // energy counts all the same: from meter_start to meter_end of the job's
  // run. A second meter_start of the job (its node was marked down before the
  // run's end reached it) replaces the first.
  void meter_start(const protocol::MeterStart& m);
  // What the counters of the run's GPUs rose by since meter_start, as reap()
  // figures it; nullopt where a counter could not be read or `m` is not the
  // run metered here.
  std::optional<std::uint64_t> meter_end(const protocol::MeterEnd& m);

 private:
  struct Job {
    pid_t pid = 0;  // also the process group id (the child calls setsid)
    std::uint32_t run = 0;
    std::int64_t warn_at_ms = 0, limit_at_ms = 0, kill_at_ms = 0;  // 0: none
    std::int64_t kill_wait_ms = 0;
    int warn_signal = 0;
    bool timed_out = false, cancelled = false;
    std::vector<std::string> files;  // spool files removed when it ends
    std::vector<std::uint32_t> gpus;
    std::optional<std::vector<std::uint64_t>> energy_at_launch_mj;  // one per GPU
  };
  void terminate(Job& job, std::int64_t now_ms);
  std::optional<std::vector<std::uint64_t>> energy_mj(const std::vector<std::uint32_t>& gpus) const;
  struct Metered {
    std::uint32_t run = 0;
    std::vector<std::uint32_t> gpus;
    std::vector<std::uint64_t> start_mj;
  };
  const Nvml* nvml_;
  std::map<std::uint64_t, Job> jobs_;
  std::map<std::uint64_t, Metered> metered_;
};

}  // namespace flotilla::executor
