// Parameter sweeps: one workload replayed on every combination of fleet, queue
// policy, placement policy, load factor and seed (`flotilla sim --sweep`).
// Each combination is a cell; cells are independent and numbered in a fixed
// order, so any subset can run anywhere (TBB threads here, MPI ranks in the
// CLI) and the results, stored by cell index, never depend on who ran what.
//
// Sweep file (TOML):
//
//   fleets = ["../fleets/8xH100.toml", "a100.toml"]  # required, fleet files
//   trace = "synthetic:2000"           # required: synthetic[:JOBS] or a trace file
//   policies = ["fcfs", "easy"]        # queue policies; default ["easy"]
//   placements = ["best-fit"]          # placement policies; default ["best-fit"]
//   load_factors = [0.5, 1.0, 1.5]     # > 0; submit times are divided by the
//                                      # factor (1.5 = arrivals 1.5x as fast);
//                                      # default [1.0]
//   seeds = [1, 2]                     # >= 0; default [1]
//   out = "sweep.h5"                   # optional HDF5 results file
//
// Relative paths (fleets, a trace file, out) resolve against the folder of
// the sweep file. A cell's seed seeds the placement policy and failures and,
// for a synthetic trace, the generator too, so seeds vary the workload (which
// is why "synthetic:JOBS:SEED" is refused here). Lists must be non-empty and
// without repeats. Errors: the first problem, as "FILE:LINE: what".
//
// Cell order: fleet, then policy, placement, load factor, seed (seed varies
// fastest), each in the order the file lists them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/fleet.h"
#include "scheduler/status.h"
#include "simulator/metrics.h"
#include "traces/trace.h"

namespace flotilla {

// A parsed sweep file; plain value.
struct SweepSpec {
  std::string origin;                // the sweep file
  std::vector<std::string> fleets;   // fleet file paths, resolved
  std::string trace;                 // as written ("synthetic:2000" or a path)
  std::string trace_path;            // resolved path; empty for a synthetic trace
  std::uint64_t synthetic_jobs = 0;  // jobs of a synthetic trace
  std::vector<std::string> policies{"easy"};
  std::vector<std::string> placements{"best-fit"};
  std::vector<double> load_factors{1.0};
  std::vector<std::uint64_t> seeds{1};
  std::optional<std::string> out;  // resolved path of the HDF5 results

  bool synthetic() const { return trace_path.empty(); }
};

// Parses sweep TOML; `origin` names it in errors and its folder anchors
// relative paths.
Result<SweepSpec> parse_sweep(std::string_view toml, const std::string& origin);
// Reads and parses the file at `path`.
Result<SweepSpec> load_sweep_file(const std::string& path);

// One combination, as indexes into the SweepSpec lists.
struct SweepCell {
  std::size_t fleet = 0, policy = 0, placement = 0, load = 0, seed = 0;
  friend bool operator==(const SweepCell&, const SweepCell&) = default;
};

std::size_t sweep_cell_count(const SweepSpec& spec);
// Cell `index` (< sweep_cell_count) in the fixed order above.
SweepCell sweep_cell(const SweepSpec& spec, std::size_t index);
// All cells, in order.
std::vector<SweepCell> sweep_cells(const SweepSpec& spec);

// What every cell reads, loaded once; immutable while cells run, so it may be
// shared by any number of threads.
struct SweepInputs {
  std::vector<Fleet> fleets;   // as SweepSpec::fleets
  std::optional<Trace> trace;  // the trace file; none for a synthetic trace
};
Result<SweepInputs> load_sweep_inputs(const SweepSpec& spec);

// The trace cell `cell` replays: the base trace (the file, or the generator
// seeded with the cell's seed) with submit times divided by its load factor.
Trace sweep_trace(const SweepSpec& spec, const SweepInputs& inputs, const SweepCell& cell);

// Runs the cells with these indexes in parallel (TBB) and returns their
// summaries in the same order. The first failing cell (in `indexes` order)
// gives the error.
Result<std::vector<Summary>> run_sweep_cells(const SweepSpec& spec, const SweepInputs& inputs,
                                             std::span<const std::size_t> indexes);

// Summaries in a form that travels between processes (MPI) and comes back
// exactly: counts as uint64, figures as doubles (their bits), the rejection
// map as JSON text. `cells` holds the cell index of each summary.
struct PackedSummaries {
  static constexpr std::size_t kCounts = 6;  // cell, jobs, completed, rejected, failed, text bytes
  static constexpr std::size_t kFigures = 9;
  std::vector<std::uint64_t> counts;  // kCounts per summary
  std::vector<double> figures;        // kFigures per summary
  std::string text;                   // the rejection maps, concatenated
};
PackedSummaries pack_summaries(std::span<const std::size_t> cells,
                               std::span<const Summary> summaries);
// Appends what `packed` holds to `cells` and `summaries`; errors on malformed
// input.
Status unpack_summaries(const PackedSummaries& packed, std::vector<std::size_t>& cells,
                        std::vector<Summary>& summaries);

// Writes the cells table (one row per cell, in cell order: fleet, policy,
// placement, load_factor, seed and every Summary field, rejections as JSON
// text) to `path` through a temporary file and a rename. `fleet_names` are
// the fleets' names, as SweepSpec::fleets.
Status write_sweep_h5(const SweepSpec& spec, std::span<const std::string> fleet_names,
                      std::span<const Summary> summaries, const std::string& path);

// The rejection map as JSON text, keys sorted: {"reason": jobs, ...}.
std::string rejections_json(const Summary& summary);

}  // namespace flotilla
