// Reader for the Parallel Workloads Archive's Standard Workload Format (SWF,
// https://www.cs.huji.ac.il/labs/parallel/workload/swf.html), plain or .gz.
//
// Mapping (SWF field numbers 1..18):
//   1 job number -> id; 2 submit time -> submit (SWF times are already seconds
//   from the log's start, UnixStartTime);
//   4 run time -> work.reference_runtime; if -1, the requested time (9) is
//   used instead, and a job with neither is an error;
//   5 allocated processors, or 8 requested processors when 5 is -1 or 0 ->
//   shape.total_gpus with gpus_per_node 0: SWF machines have processors, not
//   GPUs, so a fleet of one-"GPU" nodes models the machine. reference_gpu is
//   left at 0: the runtime is on whatever that modelling fleet's type is;
//   9 requested time -> time_limit (unset when -1);
//   12 user id -> users, 13 group id -> accounts ("-" when -1);
//   15 queue number -> qos, named by the header's "; Queue: N name" lines when
//   there are any ("queue-N" otherwise, "normal" when -1).
//   Fields 3, 6, 7, 10, 14, 16, 17 and 18 are checked to be numbers and not used.
// Status (11): completed (1), failed (0), cancelled (5) and unknown (-1) jobs
// are all kept; their run time is what they ran, so they occupy the machine
// for that long, as they did. Partial-execution lines of checkpointed or
// swapped jobs (status 2, 3, 4) are skipped and counted in
// Trace::skipped_records: the format writes each such job once more as a
// summary line, which is the one kept.
// Errors, "FILE:LINE: what": a line without exactly 18 fields, a field that is
// not a number, a value below -1, a fractional value where a count or time is
// needed, an unknown (-1) submit time, no processor count, a malformed typed
// header value (MaxNodes, MaxProcs, MaxJobs, MaxRecords, UnixStartTime, Queue).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "scheduler/status.h"
#include "traces/trace.h"

namespace flotilla {

// The `;` header comments of an SWF log.
struct SwfHeader {
  std::optional<std::int64_t> max_nodes, max_procs, max_jobs, max_records;
  std::optional<std::int64_t> unix_start_time;  // seconds since 1970 of submit time 0
  std::string version, computer, installation, time_zone_string;
  std::map<std::int64_t, std::string> queues;  // "; Queue: 1 batch"
  std::map<std::string, std::string> fields;   // every "Key: value" as written (last wins)
};

struct SwfLog {
  SwfHeader header;
  Trace trace;
};

Result<SwfLog> read_swf_log(const std::string& path);
Result<Trace> read_swf(const std::string& path);  // read_swf_log without the header

}  // namespace flotilla
