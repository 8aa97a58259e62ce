// Host inventory through hwloc and NVML (see inventory.h).
#include "executor/inventory.h"

#include <hwloc.h>

namespace flotilla::executor {

Result<std::vector<std::string>> nvml_gpu_names(const Nvml& nvml) {
  Result<unsigned> count = nvml.device_count();
  if (!count) return count.status();
  std::vector<std::string> names;
  for (unsigned i = 0; i < *count; ++i) {
    Result<Nvml::Device> dev = nvml.device_at(i);
    std::optional<std::string> name = dev ? nvml.name(*dev) : std::nullopt;
    names.push_back(name.value_or("unknown"));
  }
  return names;
}

Result<HostInventory> read_host_inventory(const Result<std::unique_ptr<Nvml>>& nvml) {
  hwloc_topology_t topo = nullptr;
  if (hwloc_topology_init(&topo) != 0) return Status::error("hwloc: cannot initialise");
  if (hwloc_topology_load(topo) != 0) {
    hwloc_topology_destroy(topo);
    return Status::error("hwloc: cannot read the host's topology");
  }
  HostInventory inv;
  const int cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
  const int pus = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
  inv.cpus = pus > 0 ? static_cast<std::uint32_t>(pus) : 0;
  // Some virtual machines expose no core level: each PU is then a core.
  inv.cores = cores > 0 ? static_cast<std::uint32_t>(cores) : inv.cpus;
  inv.memory_bytes = hwloc_get_root_obj(topo)->total_memory;
  hwloc_topology_destroy(topo);
  if (inv.cpus == 0 || inv.memory_bytes == 0)
    return Status::error("hwloc: the topology shows no CPU or no memory");
  Result<std::vector<std::string>> gpus =
      nvml ? nvml_gpu_names(**nvml) : Result<std::vector<std::string>>(nvml.status());
  if (gpus) {
    inv.gpus = std::move(*gpus);
    inv.gpu_source = "nvml";
  } else {
    inv.gpu_source = "declared (NVML: " + gpus.message() + ")";
  }
  return inv;
}

}  // namespace flotilla::executor
