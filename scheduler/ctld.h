// The live controller: MPI rank 0 of `flotilla ctld`. It owns the job store
// (SQLite), the Unix socket the client commands talk to, and the Scheduler
// core; executors (ranks 1..N, executor/agent.h) run what it starts. Every
// job and state change is committed to the store before the controller
// answers a client or sends an executor anything, so a restart after kill -9
// reloads the queue and reconciles the jobs that were running.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "scheduler/status.h"

namespace flotilla {

struct CtldOptions {
  std::string fleet_path;
  std::string state_dir;       // jobs.db, ctld.lock, spool/ live here
  std::string socket_path;     // default: STATE_DIR/ctld.sock
  std::string queue = "easy";  // fcfs, easy, conservative
  // An executor silent this long is marked down and its jobs handled as node failures.
  std::chrono::milliseconds heartbeat_timeout{10'000};
  // SIGTERM to SIGKILL at a time limit or scancel (Slurm's KillWait).
  std::chrono::milliseconds kill_wait{30'000};
  // How long one minute of a --time limit lasts; 60 s except in tests that
  // compress time.
  std::chrono::milliseconds limit_minute{60'000};
  // How long to wait at start for every executor to register.
  std::chrono::milliseconds register_wait{30'000};
};

// Runs the controller until a shutdown request, SIGTERM or SIGINT. MPI must
// be initialized on MPI_COMM_WORLD with this process as rank 0; ranks 1..N
// run executor::run_agent and are matched to the fleet's nodes in order
// (rank r is node r-1); nodes without an executor are down.
Status run_controller(const CtldOptions& options);

// The partition every job runs in (one per controller).
inline constexpr const char* kPartition = "gpu";

}  // namespace flotilla
