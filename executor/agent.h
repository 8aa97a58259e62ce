// The executor agent: the loop that MPI ranks >= 1 of `flotilla ctld` run. It
// registers with the controller (rank 0) with its host's inventory, runs the jobs it is told to run
// (JobRunner), reports how each ended and heartbeats until told to shut down
// or signalled (SIGTERM/SIGINT end its jobs with it).
#pragma once

#include <chrono>

#include "scheduler/status.h"

namespace flotilla::executor {

struct AgentOptions {
  std::chrono::milliseconds heartbeat{1000};
};

// MPI must be initialized; returns when the controller says shut down.
Status run_agent(const AgentOptions& options);

}  // namespace flotilla::executor
