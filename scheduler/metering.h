// The metering record: what one job did on one node, the unit the money path
// is built from. The live controller writes them, `flotilla meter import-sacct`
// makes them from a Slurm accounting export, and the reward model reads them.
//
// On disk: JSON Lines, one object per run of a job per node, every field
// required but `run` and `energy_j`:
//   {"job_id":"4242","provider":"acme","node":"gpu017","gpu_type":"H100-SXM",
//    "gpus":8,"start":1764201600,"end":1764205200,"gpu_seconds":28800,
//    "outcome":"completed","fault":"none","run":1,"energy_j":9720000}
// job_id is a string so that array tasks ("4242_7") keep Slurm's spelling;
// start and end are Unix seconds; gpu_seconds may be less than
// gpus * (end - start) for shared (fractional) GPUs, never more. `run` counts
// the job's requeues before this run (absent means 0, and 0 is not written),
// so a run lost to a node failure keeps its provider-fault record when the
// job runs on that node again. `energy_j` is what the run's GPUs on this node
// used, in whole joules (NVML's counters, rounded to the nearest joule),
// written only where it was measured: absent means unknown, never zero.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/status.h"

namespace flotilla {

// How a job ended: sacct's State column, written in lower case.
enum class JobEndState : std::uint8_t {
  kCompleted,
  kFailed,
  kCancelled,
  kTimeout,
  kNodeFail,
  kPreempted,
  kOutOfMemory,
};

// Who a job that did not complete is blamed on. A provider fault (node lost,
// GPU fell off the bus) is what reward penalties apply to; a user fault (bad
// script, cancelled, ran out of time) is not the provider's doing.
enum class Fault : std::uint8_t { kNone, kUser, kProvider };

std::string_view end_state_name(JobEndState s);  // "completed", "node_fail", ...
std::optional<JobEndState> find_end_state(std::string_view name);
std::string_view fault_name(Fault f);  // "none", "user", "provider"
std::optional<Fault> find_fault(std::string_view name);

// One job on one node; a value type.
struct MeterRecord {
  std::string job_id;
  std::string provider;
  std::string node;
  std::string gpu_type;
  std::uint32_t gpus = 0;
  std::int64_t start = 0;  // Unix seconds
  std::int64_t end = 0;
  std::uint64_t gpu_seconds = 0;
  JobEndState outcome = JobEndState::kCompleted;
  Fault fault = Fault::kNone;
  std::uint32_t run = 0;
  std::optional<std::uint64_t> energy_j;

  friend bool operator==(const MeterRecord&, const MeterRecord&) = default;
};

// One JSON object (no newline), fields in the order shown above.
std::string to_json_line(const MeterRecord& r);

// Parses and checks one line. Errors name the field and the reason, without a
// file position: a missing field, a wrong type, a negative or overflowing
// number, end before start, gpu_seconds above gpus * (end - start), an
// unknown outcome or fault, a completed job blamed on someone, an energy_j
// that is not a whole number of joules.
Result<MeterRecord> parse_meter_record(std::string_view json_line);

// Reads a whole JSON Lines file (blank lines skipped). Errors are
// "FILE:LINE: what"; duplicates of (job_id, node) are refused with the line
// of the first copy, because counting a job twice pays for it twice.
Result<std::vector<MeterRecord>> read_meter_file(const std::string& path);

// Writes records as JSON Lines to `path` atomically (a temporary file in the
// same directory, then rename), so a reader never sees half a file.
Status write_meter_file(const std::string& path, const std::vector<MeterRecord>& records);

}  // namespace flotilla
