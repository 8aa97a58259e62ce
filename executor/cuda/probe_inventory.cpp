// Inventory of the node's GPUs: what the CUDA runtime says (name, memory, SMs,
// compute capability, P2P) and what only NVML says (clocks, PCIe link, NVLink),
// through the executor's NVML loader (executor/nvml.h).
#include <unistd.h>

#include <cstdio>
#include <string>

#include "executor/cuda/cuda_check.h"
#include "executor/cuda/probe_cuda.h"
#include "executor/nvml.h"

namespace flotilla::cuda {
namespace {

using executor::Nvml;

// Fills what NVML knows; a field NVML cannot read (not supported on this
// board) stays 0.
Status describe(const Nvml& nvml, ProbeGpu& g) {
  Result<Nvml::Device> dev = nvml.device_by_pci_bus_id(g.pci_bus_id);
  if (!dev) return dev.status();
  const auto put = [](int& field, std::optional<unsigned> v) {
    if (v) field = static_cast<int>(*v);
  };
  put(g.max_sm_clock_mhz, nvml.max_clock_mhz(*dev, Nvml::Clock::kSm));
  put(g.max_memory_clock_mhz, nvml.max_clock_mhz(*dev, Nvml::Clock::kMemory));
  // The current link may train down while idle to save power; the maximum is
  // what the slot and board allow.
  put(g.pcie_generation, nvml.pcie_link(*dev, Nvml::PcieLink::kGeneration));
  put(g.pcie_width, nvml.pcie_link(*dev, Nvml::PcieLink::kWidth));
  put(g.pcie_max_generation, nvml.pcie_link(*dev, Nvml::PcieLink::kMaxGeneration));
  put(g.pcie_max_width, nvml.pcie_link(*dev, Nvml::PcieLink::kMaxWidth));
  g.nvlink_active_links = static_cast<int>(nvml.active_nvlinks(*dev));
  return Status::ok();
}

std::string uuid_text(const cudaUUID_t& u) {
  char buf[48];
  const auto* b = reinterpret_cast<const unsigned char*>(u.bytes);
  std::snprintf(buf, sizeof buf,
                "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
                b[14], b[15]);
  return buf;
}

}  // namespace

Result<ProbeReport> inventory() {
  ProbeReport r;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0) r.host = host;
  FLOTILLA_TRY(check(cudaRuntimeGetVersion(&r.cuda_runtime_version), "cudaRuntimeGetVersion"));
  FLOTILLA_TRY(check(cudaDriverGetVersion(&r.cuda_driver_version),
                     "no usable NVIDIA driver (cudaDriverGetVersion)"));
  if (r.cuda_driver_version == 0) {
    return Status::error("no NVIDIA driver (cudaDriverGetVersion found no libcuda)");
  }
  int count = 0;
  FLOTILLA_TRY(check(cudaGetDeviceCount(&count), "no usable GPU (cudaGetDeviceCount)"));
  if (count == 0) return Status::error("no CUDA device");
  Result<std::unique_ptr<Nvml>> nvml = Nvml::open();
  if (!nvml) return nvml.status();
  r.nvml_driver_version = (*nvml)->driver_version();
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp p{};
    FLOTILLA_TRY(check(cudaGetDeviceProperties(&p, i), "cudaGetDeviceProperties"));
    ProbeGpu g;
    g.index = i;
    g.name = p.name;
    g.uuid = uuid_text(p.uuid);
    char bus[32] = {};
    FLOTILLA_TRY(check(cudaDeviceGetPCIBusId(bus, sizeof bus, i), "cudaDeviceGetPCIBusId"));
    g.pci_bus_id = bus;
    g.memory_bytes = p.totalGlobalMem;
    g.sm_count = p.multiProcessorCount;
    g.compute_capability_major = p.major;
    g.compute_capability_minor = p.minor;
    FLOTILLA_TRY(describe(**nvml, g));
    r.gpus.push_back(std::move(g));
  }
  r.p2p.assign(count, std::vector<bool>(count, false));
  for (int i = 0; i < count; ++i) {
    for (int j = 0; j < count; ++j) {
      if (i == j) continue;
      int can = 0;
      FLOTILLA_TRY(check(cudaDeviceCanAccessPeer(&can, i, j), "cudaDeviceCanAccessPeer"));
      r.p2p[i][j] = can != 0;
    }
  }
  return r;
}

}  // namespace flotilla::cuda
