// The native trace store: a Trace in one HDF5 file, columnar so a million jobs
// load in well under a second and other tools (h5py, pandas) read it as is.
//
//   /                 attributes: format_version (int32, kTraceH5Version),
//                     origin (string), skipped_records (uint64)
//   /jobs/<field>     one 1-D dataset per TraceJob field, all the same length,
//                     chunked (64 Ki rows), shuffled and deflate-compressed:
//                     id, submit, time_limit (-1: none), user, account, qos,
//                     nodes, gpus_per_node, total_gpus, gpu_milli, types (bit i =
//                     /gpu_types[i]), min_gpu_mem_gb, exclusive, max_switches
//                     (-1: none), workload (WorkloadClass), reference_runtime,
//                     reference_gpu (index into /gpu_types), has_model,
//                     model_params, model_tokens, model_seq_len,
//                     model_global_batch, model_training, model_shardable,
//                     requeue, source_line
//   /users, /accounts, /qos   string tables the jobs index
//   /gpu_types        catalog names by the ids used in the file, so the file
//                     survives a catalog that gains or reorders types
//
// write_trace_h5 writes "PATH.tmp.<pid>.<n>" beside PATH, flushes it to disk
// and renames it over PATH, so a crash leaves either the old file or the new
// one, never half of one; on failure the temporary file is removed.
// Thread-compatible: HDF5 (serial build) must not be entered from two threads.
#pragma once

#include <functional>
#include <string>

#include "scheduler/status.h"
#include "traces/trace.h"

namespace flotilla {

constexpr int kTraceH5Version = 1;

// `before_rename` (optional) runs on the finished temporary file just before
// the rename; an error from it aborts the write (tests use it to stand in for
// a crash).
Status write_trace_h5(
    const Trace& trace, const std::string& path,
    const std::function<Status(const std::string& temp_path)>& before_rename = {});

// Errors: not HDF5, not a flotilla trace, a newer format_version, missing or
// mis-sized columns, an index outside its table, a GPU type the catalog lacks.
Result<Trace> read_trace_h5(const std::string& path);

// True when the file starts with the HDF5 signature.
bool is_hdf5_file(const std::string& path);

}  // namespace flotilla
