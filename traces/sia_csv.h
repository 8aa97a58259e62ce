// Readers for the two CSV workloads of the Sia (SOSP'23) artifact.
//
// Philly, `timestamp,duration,num_gpus,gpu_time,cluster` (Microsoft Philly,
// Aug-Dec 2017, as re-derived by Sia): submit = timestamp minus the earliest
// timestamp in the file (timestamps are `YYYY-MM-DD HH:MM:SS`, read as UTC;
// the file is not sorted); duration (s, rounded to whole seconds) ->
// work.reference_runtime on a P100; num_gpus -> shape.total_gpus;
// cluster (virtual cluster id) -> account; gpu_time is checked, not used.
// Why a P100: Philly's public trace gives only GPU memory sizes (12 GB and
// 24 GB) and no model (msr-fiddle/philly-traces README; Jeon et al., ATC'19;
// Hu et al. 2024, arXiv 2403.07648, note the same). Both sizes are Pascal
// parts of 2016-17 (Tesla P100 12 GB, Tesla P40 24 GB) of similar FP32
// throughput; the P100 is the Pascal GPU in our catalog.
//
// Saturn, `name,time,application,num_replicas,batch_size` (SenseTime Helios
// "Saturn" samples): submit = time (s, rounded); num_replicas ->
// shape.total_gpus (one GPU per data-parallel replica); batch_size checked.
// application -> WorkloadClass: every application Sia/Pollux run is
// small-training, bert included: it is BERT-base fine-tuned on SQuAD with all
// weights updated (Pollux, Qiao et al., OSDI'21, Table 1), i.e. a 110M-parameter
// full fine-tune, not an LLM adapter (LoRA) job.
// These files carry no runtimes. reference_runtime is ASSUMED per application
// from the size category Pollux's Table 1 gives each one (GPU-hours per job:
// S 0-1, M 1-10, L 10-100, XL 100-1000), taking the geometric middle of the
// range (0.5 for S) and dividing by num_replicas; reference GPU T4 (Pollux's
// testbed: AWS g4dn.12xlarge, 4 T4 each). See kSaturnApplications in
// sia_csv.cpp. A simulator that wants Sia's own goodput model should replace
// these; they only give the jobs a plausible length.
//
// Errors, "FILE:LINE: what": wrong header line, wrong field count, a field
// that does not parse or is out of range (named), unknown application.
// Blank lines are skipped.
#pragma once

#include <string>

#include "scheduler/status.h"
#include "traces/trace.h"

namespace flotilla {

Result<Trace> read_philly(const std::string& path);
Result<Trace> read_saturn(const std::string& path);

inline constexpr const char* kPhillyHeader = "timestamp,duration,num_gpus,gpu_time,cluster";
inline constexpr const char* kSaturnHeader = "name,time,application,num_replicas,batch_size";

}  // namespace flotilla
