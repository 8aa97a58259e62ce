// What a job asks for. JobRequest is the user's request in Slurm's terms, as
// `#SBATCH` directives, `sbatch` options or trace readers give it; nothing here
// is resolved against a fleet yet. resolve_placement() turns it into the
// PlacementRequest that the placer works with. Plain values; not shared.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/gpu_catalog.h"
#include "scheduler/status.h"

namespace flotilla {

using Seconds = std::chrono::duration<std::int64_t>;

struct JobRequest {
  std::string job_name;
  std::optional<std::uint32_t> nodes_min;  // --nodes=MIN[-MAX]
  std::optional<std::uint32_t> nodes_max;
  std::optional<std::uint32_t> ntasks;
  std::optional<std::uint32_t> ntasks_per_node;
  std::optional<std::uint32_t> cpus_per_task;
  std::optional<std::uint32_t> gpus;           // --gpus / -G: whole job
  std::optional<std::uint32_t> gpus_per_node;  // --gpus-per-node, --gres=gpu:N
  std::optional<std::uint32_t> gpus_per_task;
  std::vector<std::string> gpu_types;           // acceptable types, as written
  std::uint16_t gpu_milli = 1000;               // < 1000: a share of one GPU (traces)
  std::optional<std::uint32_t> min_gpu_mem_gb;  // "any GPU with at least X GB"
  std::optional<std::uint64_t> mem_mb;          // --mem, per node
  std::optional<std::uint64_t> mem_per_gpu_mb;
  std::optional<std::uint64_t> mem_per_cpu_mb;
  std::optional<Seconds> time_limit;  // unset: the partition's default
  bool time_unlimited = false;        // --time=UNLIMITED / INFINITE
  std::string partition, account, qos, constraint, dependency, array;
  std::string output, error, open_mode, signal, mail_type, mail_user;
  bool exclusive = false;
  bool requeue = false;
  bool overcommit = false;
  std::optional<std::uint32_t> switches;  // --switches=N[@WAIT]
  std::optional<Seconds> switches_wait;
};

// The GPU shape the placer must find. Built by resolve_placement().
struct PlacementRequest {
  // Exact node count; 0 means as few nodes as the GPUs need.
  std::uint32_t nodes = 0;
  // GPUs on every node; 0 means any split of total_gpus over `nodes`.
  std::uint32_t gpus_per_node = 0;
  std::uint32_t total_gpus = 1;
  // Below 1000: a share (thousandths) of one GPU; total_gpus is then 1.
  std::uint16_t gpu_milli = 1000;
  GpuTypeSet types;  // empty: any type
  std::uint32_t min_gpu_mem_gb = 0;
  bool exclusive = false;  // whole nodes, all their GPUs
  std::optional<std::uint32_t> max_switches;

  bool operator==(const PlacementRequest&) const = default;
};

// Derives the GPU shape from Slurm's options (see request.cpp for the rules);
// errors name the option that is wrong or unknown GPU types.
Result<PlacementRequest> resolve_placement(const JobRequest& request, const GpuCatalog& catalog);

}  // namespace flotilla
