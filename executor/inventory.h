// What an executor reports about its host when it registers: CPU cores and
// memory as hwloc sees them, and the GPUs NVML sees where the NVIDIA driver
// is installed. Without NVML (CPU-only machines, tests) the GPUs are the ones
// the fleet file declares for the node; the controller schedules on those in
// any case and shows what was found beside them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "executor/nvml.h"
#include "scheduler/status.h"

namespace flotilla::executor {

struct HostInventory {
  std::uint32_t cores = 0;  // physical cores
  std::uint32_t cpus = 0;   // hardware threads (hwloc's PUs)
  std::uint64_t memory_bytes = 0;
  std::vector<std::string> gpus;  // NVML's names, one per GPU; empty without NVML
  std::string gpu_source;         // "nvml", or why not: "declared (NVML: ...)"
};

// Cores and memory from hwloc (an error if hwloc cannot read the topology),
// GPUs from `nvml`, or why there are none: what Nvml::open returned.
Result<HostInventory> read_host_inventory(const Result<std::unique_ptr<Nvml>>& nvml);

// The names of the GPUs NVML sees ("unknown" for one it cannot name).
Result<std::vector<std::string>> nvml_gpu_names(const Nvml& nvml);

}  // namespace flotilla::executor
