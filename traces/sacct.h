// Reader for Slurm accounting exports: the text `sacct -P` (or `-p`) prints,
// one '|'-separated row per job under a header naming the columns. The
// columns are found by name, so any order and extra columns are fine. The
// export slurm/README.md documents:
//
//   TZ=UTC SLURM_TIME_FORMAT=standard sacct -a -X -P -S START -E END
//     --format=JobID,JobIDRaw,JobName,User,Account,Partition,QOS,Submit,Start,End,
//              Elapsed,Timelimit,State,ExitCode,NNodes,NodeList,AllocTRES
//   (one command line; the --format list has no spaces)
//
// Required columns: JobID, Submit, Start, End, Elapsed, State, NNodes,
// NodeList, AllocTRES. Optional: JobIDRaw (needed for array and
// heterogeneous jobs, "4242_7" / "4242+1"), JobName, User, Account, Partition,
// QOS, Timelimit. Others are ignored.
// Field formats (sacct(1), Slurm 22.05): times "YYYY-MM-DDTHH:MM:SS", read as
// UTC (hence TZ=UTC above), or "Unknown"/"None" when the job never got
// there; Elapsed "[D-]HH:MM:SS"; Timelimit the same or whole minutes (what
// `sacct --completion` prints), "UNLIMITED"/"Partition_Limit" for none; State
// the first word ("CANCELLED by 1000" is CANCELLED); AllocTRES
// "cpu=8,gres/gpu:h100=8,gres/gpu=8,mem=64G,node=1": GPUs from gres/gpu=N,
// else the sum of the typed gres/gpu:TYPE=N entries, the type from the typed
// entry. Step rows (JobID with a '.', e.g. "4242.batch") are counted and
// skipped; -X leaves them out.
// Errors, "FILE:LINE: COLUMN: what, got 'VALUE'": a missing header or
// required column, a row with another number of fields than the header, a
// malformed time, duration, count or TRES, an unknown State, an array job
// without JobIDRaw. Thread-compatible; pure apart from reading the file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/gpu_catalog.h"
#include "scheduler/metering.h"
#include "scheduler/status.h"
#include "traces/trace.h"

namespace flotilla {

// One allocation row of the export; a value type.
struct SacctJob {
  std::string job_id;        // JobID as written: "4242", "4242_7"
  std::uint64_t id_raw = 0;  // JobIDRaw, or JobID when that is a plain number
  std::string name, user, account, partition, qos;
  std::optional<std::int64_t> submit, start, end;  // Unix seconds
  Seconds elapsed{0};
  std::optional<Seconds> time_limit;  // unset: unlimited or the partition's
  std::string state;                  // "COMPLETED", "NODE_FAIL", ...
  std::uint32_t nodes = 0;
  std::string node_list;  // a Slurm hostlist, "None assigned" when it never ran
  std::uint32_t gpus = 0;
  std::string gpu_type;  // from gres/gpu:TYPE=N; empty when untyped
  std::size_t line = 0;
};

struct SacctLog {
  std::string path;
  std::vector<SacctJob> jobs;       // in file order
  std::uint64_t steps_skipped = 0;  // "4242.batch" and other step rows
};

Result<SacctLog> read_sacct(const std::string& path);

// True for the states of a job that has ended (COMPLETED, FAILED, CANCELLED,
// TIMEOUT, NODE_FAIL, PREEMPTED, OUT_OF_MEMORY, BOOT_FAIL, DEADLINE,
// SPECIAL_EXIT); false for RUNNING, PENDING, REQUEUED, SUSPENDED, ...
bool sacct_job_ended(const SacctJob& job);

// The workload for replay: every ended job that started and held GPUs, with
// its elapsed time as the reference runtime on its GPU type, its time limit,
// GPU count and node count; submit times from the earliest kept submit. Jobs
// that never started, have not ended or used no GPUs are counted in
// skipped_records (as are step rows). Errors: a GPU type the catalog lacks,
// with the row's line.
Result<Trace> sacct_trace(const SacctLog& log, const GpuCatalog& catalog = GpuCatalog::builtin());
Result<Trace> read_sacct_trace(const std::string& path);

struct SacctMetering {
  std::vector<MeterRecord> records;  // one per job per node, in file order
  std::uint64_t not_ended = 0;       // still running, pending, requeued
  std::uint64_t never_started = 0;   // ended before they started (cancelled while pending)
  std::uint64_t cpu_only = 0;        // no GPUs in AllocTRES
};

// Metering records for the provider that runs the cluster. State -> outcome
// and fault: COMPLETED completed/none; FAILED, SPECIAL_EXIT failed/user;
// CANCELLED cancelled/user; TIMEOUT, DEADLINE timeout/user; OUT_OF_MEMORY
// out_of_memory/user; NODE_FAIL, BOOT_FAIL node_fail/provider (the node, not
// the job, failed); PREEMPTED preempted/none (a scheduling decision, nobody's
// fault). A job's GPUs are split evenly over its NodeList, the remainder to
// the first nodes. `default_gpu_type` names the type of rows whose AllocTRES
// has none. Errors "FILE:LINE: what": a GPU type the catalog lacks (or none
// at all), a NodeList that is not NNodes hosts, End before Start, a missing
// Start or End on an ended job that ran.
Result<SacctMetering> sacct_meter_records(const SacctLog& log, const std::string& provider,
                                          const std::string& default_gpu_type = "",
                                          const GpuCatalog& catalog = GpuCatalog::builtin());

}  // namespace flotilla
