// Host inventory through hwloc and NVML (see inventory.h). NVML ships with the
// driver, not the toolkit, so it is opened with dlopen and its few entry
// points are declared from the NVML API reference
// (docs.nvidia.com/deploy/nvml-api), as the GPU probe does (cuda/).
#include "executor/inventory.h"

#include <dlfcn.h>
#include <hwloc.h>

#include <memory>

namespace flotilla::executor {

namespace {

using NvmlReturn = int;  // nvmlReturn_t; NVML_SUCCESS = 0
using NvmlDevice = struct NvmlDeviceOpaque*;
constexpr NvmlReturn kNvmlSuccess = 0;
constexpr unsigned kNvmlNameBufferSize = 96;  // NVML_DEVICE_NAME_V2_BUFFER_SIZE

struct LibraryCloser {
  void operator()(void* lib) const { ::dlclose(lib); }
};

}  // namespace

Result<std::vector<std::string>> nvml_gpu_names(const char* nvml_library) {
  std::unique_ptr<void, LibraryCloser> lib(::dlopen(nvml_library, RTLD_NOW | RTLD_LOCAL));
  if (!lib) return Status::error(std::string(nvml_library) + " not found (no NVIDIA driver)");
  const auto sym = [&](auto& f, const char* name) {
    f = reinterpret_cast<std::remove_reference_t<decltype(f)>>(::dlsym(lib.get(), name));
    return f != nullptr;
  };
  NvmlReturn (*init)() = nullptr;
  NvmlReturn (*shutdown)() = nullptr;
  NvmlReturn (*count)(unsigned*) = nullptr;
  NvmlReturn (*by_index)(unsigned, NvmlDevice*) = nullptr;
  NvmlReturn (*name)(NvmlDevice, char*, unsigned) = nullptr;
  if (!sym(init, "nvmlInit_v2") || !sym(shutdown, "nvmlShutdown") ||
      !sym(count, "nvmlDeviceGetCount_v2") || !sym(by_index, "nvmlDeviceGetHandleByIndex_v2") ||
      !sym(name, "nvmlDeviceGetName")) {
    return Status::error(std::string(nvml_library) + " lacks an entry point (driver too old)");
  }
  if (init() != kNvmlSuccess) return Status::error("nvmlInit failed");
  std::vector<std::string> names;
  unsigned n = 0;
  const bool counted = count(&n) == kNvmlSuccess;
  for (unsigned i = 0; counted && i < n; ++i) {
    NvmlDevice dev = nullptr;
    char buf[kNvmlNameBufferSize] = {};
    if (by_index(i, &dev) == kNvmlSuccess && name(dev, buf, sizeof buf) == kNvmlSuccess) {
      names.emplace_back(buf);
    } else {
      names.emplace_back("unknown");
    }
  }
  shutdown();
  if (!counted) return Status::error("nvmlDeviceGetCount failed");
  return names;
}

Result<HostInventory> read_host_inventory(const char* nvml_library) {
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
  if (Result<std::vector<std::string>> gpus = nvml_gpu_names(nvml_library)) {
    inv.gpus = std::move(*gpus);
    inv.gpu_source = "nvml";
  } else {
    inv.gpu_source = "declared (NVML: " + gpus.message() + ")";
  }
  return inv;
}

}  // namespace flotilla::executor
