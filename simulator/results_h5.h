// The results of `flotilla sim --out DIR` in one HDF5 file (DIR/results.h5):
// every job of every fleet, the busy-GPU / queue series and the summary, in a
// layout h5py, pandas and h5dump read as is.
//
//   /                       attributes: format_version (int32,
//                           kResultsH5Version), trace_origin (string)
//   /fleet_names            the fleets in run order (strings)
//   /gpu_types              catalog names, indexed by jobs/gpu_type
//   /workload_classes       class names, indexed by jobs/workload
//   /outcomes               "completed", "rejected", "failed" (jobs/outcome)
//   /levels                 "node" .. "fleet" (jobs/level, 0..4)
//   /fleets/<fleet>         one group per run, named after the fleet ('/'
//                           becomes '_'); attributes: name (the fleet name as
//                           given), fleet_gpus (uint64) and every Summary field:
//                           jobs, completed, rejected, failed (uint64),
//                           makespan_s, mean_jct_s, p50_jct_s, p99_jct_s,
//                           mean_wait_s, bounded_slowdown, utilization,
//                           cost_usd, energy_kwh (float64) and rejections
//                           (uint64[], jobs per entry of rejection_reasons)
//     rejection_reasons     the distinct reasons (strings)
//     jobs/<column>         1-D, one row per job in trace order, chunked and
//                           deflate-compressed: id (u64), submit_s, start_s,
//                           end_s (i64 seconds), gpus (u32), gpu_milli (u16),
//                           gpu_type (u16), level (u8), requeues (u32),
//                           cost_micro_usd (u64), energy_j (f64), outcome (u8),
//                           workload (u8), rejection (u32, index into
//                           rejection_reasons; meaningful for rejected jobs)
//     series/<column>       t_s (i64), busy_gpus (u64), queued_jobs (u64)
//
// Written to "PATH.tmp.<pid>.<n>" and renamed over PATH (traces/h5_file.h),
// so a crash never leaves half a file. Thread-compatible: HDF5 (serial build)
// must not be entered from two threads.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "scheduler/status.h"
#include "simulator/simulation.h"

namespace flotilla {

constexpr int kResultsH5Version = 1;

// Errors: two runs whose fleets map to the same group name, a fleet with no
// name, and anything HDF5 or the file system refuses (a missing directory:
// "PATH: cannot create PATH.tmp...."). `before_rename` as in write_trace_h5.
Status write_results_h5(
    const std::string& path, const std::vector<SimResult>& runs, const std::string& trace_origin,
    const std::function<Status(const std::string& temp_path)>& before_rename = {});

}  // namespace flotilla
