// Readers for the Alibaba GPU cluster trace v2023 (the "openb" node and pod
// lists of the FGD paper, Weng et al., USENIX ATC'23; github.com/alibaba/
// clusterdata, cluster-trace-gpu-v2023).
//
// Pods, `name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,
// creation_time,deletion_time,scheduled_time` (times in s from the trace's start):
//   submit = creation_time; id = the pod's row (0-based);
//   shape: num_gpu 1 with gpu_milli < 1000 is a share of one GPU (gpu_milli
//   thousandths); otherwise num_gpu whole GPUs (gpu_milli must then be 1000);
//   gpu_spec `A|B` -> shape.types (catalog names/aliases; empty: any type);
//   qos (LS, BE, Burstable, Guaranteed) -> Trace::qos;
//   runtime = deletion_time - scheduled_time. Pods still Running when the trace
//   ends carry the trace's end as deletion_time, so their runtime is a lower
//   bound, as the trace has it. Pods that never ran (Pending, no
//   scheduled_time) are kept: they are demand the cluster saw, and FGD's
//   simulator places every pod of the list; their runtime is how long that
//   demand stood, deletion_time - creation_time. Failed pods are kept with what
//   they ran.
//   reference_gpu: the one type of a single-type gpu_spec; otherwise G2, the
//   model that holds most of the cluster's GPUs (4,392 of 6,212) - an
//   assumption, the trace does not say where a pod ran.
//   CPU-only pods (num_gpu 0; 1,088 of the 8,152 in the default list) are
//   skipped, since flotilla models GPU fleets, and counted in
//   Trace::skipped_records.
// Nodes, `sn,cpu_milli,memory_mib,gpu,model`: a Fleet "alibaba-v2023" with one
//   region and one site; nodes grouped into switches of 32 (kAlibabaNodesPerSwitch)
//   in file order, named "sw000", "sw001", ... (the trace publishes no
//   topology); provider "alibaba"; price and power from the catalog. CPU-only
//   nodes (gpu 0) are skipped: the fleet is a GPU fleet. Link speeds are
//   ASSUMED (the trace has none): node 100 Gb/s, switch 3,200 Gb/s.
// Errors, "FILE:LINE: what" naming the field: header, field count, numbers,
// unknown GPU model or phase, gpu_milli out of 1..1000, negative runtimes.
#pragma once

#include <string>

#include "scheduler/fleet.h"
#include "scheduler/status.h"
#include "traces/trace.h"

namespace flotilla {

inline constexpr const char* kAlibabaPodHeader =
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,"
    "deletion_time,scheduled_time";
inline constexpr const char* kAlibabaNodeHeader = "sn,cpu_milli,memory_mib,gpu,model";
inline constexpr std::uint32_t kAlibabaNodesPerSwitch = 32;

Result<Trace> read_alibaba_pods(const std::string& path);
Result<Fleet> read_alibaba_nodes(const std::string& path);

}  // namespace flotilla
