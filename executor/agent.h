// The executor agent: the loop that MPI ranks >= 1 of `flotilla ctld` run. It
// registers with the controller (rank 0) with its host's inventory, runs the jobs it is told to run
// (JobRunner), reports how each ended and heartbeats until told to shut down
// or signalled (SIGTERM/SIGINT end its jobs with it).
#pragma once

#include <chrono>
#include <string>

#include "scheduler/status.h"

namespace flotilla::executor {

struct AgentOptions {
  std::chrono::milliseconds heartbeat{1000};
  // `flotilla probe --json` output to summarize at registration, as a
  // pattern for probe_report_path; empty: none.
  std::string probe_report;
};

// `pattern` with %h replaced by `host` (the name the executor registers
// under), %r by its MPI rank (for executors sharing one host, as in tests)
// and %% by %; any other % is an error naming the pattern.
Result<std::string> probe_report_path(const std::string& pattern, const std::string& host,
                                      int rank);

// MPI must be initialized; returns when the controller says shut down.
Status run_agent(const AgentOptions& options);

}  // namespace flotilla::executor
