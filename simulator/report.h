// The report of `flotilla sim --out DIR`: plots drawn by gnuplot and one HTML
// page that shows them with the summary per fleet and per workload class.
// Files written into DIR (which must exist):
//
//   jct_cdf.dat, utilization.dat, cost_vs_makespan.dat   plot data, one
//       gnuplot data block (blank-line separated, `index i`) per fleet in run
//       order: JCT hours and cumulative share of completed jobs; hours and
//       busy GPUs / fleet GPUs; makespan hours and cost in USD
//   plots.gp        the gnuplot script; `cd DIR && gnuplot plots.gp` redraws
//   jct_cdf.svg     CDF of job completion time per fleet (log x)
//   utilization.svg busy GPUs / fleet GPUs over time per fleet
//   cost_vs_makespan.svg  one labelled point per fleet
//   report.html     the three plots and the tables (names HTML-escaped)
//
// gnuplot runs as a child process (fork + exec, no shell) in DIR, its output
// going to DIR/gnuplot.log, which is removed when it succeeds. Thread-safe
// to call on different directories.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "scheduler/status.h"
#include "simulator/simulation.h"

namespace flotilla {

struct ReportOptions {
  std::string trace_origin;         // shown in the page title
  std::string gnuplot = "gnuplot";  // a name looked up on PATH, or a path
};

// The path of the executable `program` (a name searched on PATH, or a path
// with a '/'), when there is one.
std::optional<std::string> find_program(const std::string& program);

// Errors: DIR not writable, gnuplot not found (naming the Debian package
// gnuplot-nox), gnuplot failing (its exit status and the end of its log).
Status write_report(const std::string& dir, const std::vector<SimResult>& runs,
                    const ReportOptions& options = {});

}  // namespace flotilla
