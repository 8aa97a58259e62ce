// Inventory of the node's GPUs: what the CUDA runtime says (name, memory, SMs,
// compute capability, P2P) and what only NVML says (clocks, PCIe link, NVLink).
// NVML ships with the driver, not the toolkit (this build machine may have no
// nvml.h at all), so it is opened at run time and its few entry points are
// declared here from the NVML API reference (docs.nvidia.com/deploy/nvml-api).
#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "executor/cuda/cuda_check.h"
#include "executor/cuda/probe_cuda.h"

namespace flotilla::cuda {
namespace {

// NVML's C ABI: nvmlReturn_t is an enum (NVML_SUCCESS = 0), devices are handles.
using NvmlReturn = int;
using NvmlDevice = struct NvmlDeviceOpaque*;
constexpr NvmlReturn kNvmlSuccess = 0;
constexpr int kNvmlClockSm = 1, kNvmlClockMem = 2;  // nvmlClockType_t
constexpr unsigned kNvmlNvLinkMaxLinks = 18;        // NVML_NVLINK_MAX_LINKS
constexpr int kNvmlFeatureEnabled = 1;              // nvmlEnableState_t

// The NVML library and the functions used; unloaded on destruction. One thread.
class Nvml {
 public:
  Nvml() = default;
  Nvml(const Nvml&) = delete;
  Nvml& operator=(const Nvml&) = delete;
  ~Nvml() {
    if (shutdown_) shutdown_();
    if (lib_) ::dlclose(lib_);
  }

  Status open() {
    lib_ = ::dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib_) {
      return Status::error(std::string("NVML is not available (") + ::dlerror() +
                           "): the NVIDIA driver is missing or incomplete");
    }
    NvmlReturn (*init)() = nullptr;
    const bool all = sym(init, "nvmlInit_v2") && sym(shutdown_, "nvmlShutdown") &&
                     sym(error_string_, "nvmlErrorString") &&
                     sym(driver_version_, "nvmlSystemGetDriverVersion") &&
                     sym(by_bus_id_, "nvmlDeviceGetHandleByPciBusId_v2") &&
                     sym(max_clock_, "nvmlDeviceGetMaxClockInfo") &&
                     sym(curr_gen_, "nvmlDeviceGetCurrPcieLinkGeneration") &&
                     sym(curr_width_, "nvmlDeviceGetCurrPcieLinkWidth") &&
                     sym(max_gen_, "nvmlDeviceGetMaxPcieLinkGeneration") &&
                     sym(max_width_, "nvmlDeviceGetMaxPcieLinkWidth") &&
                     sym(nvlink_state_, "nvmlDeviceGetNvLinkState");
    if (!all) return Status::error("NVML lacks an entry point the probe needs (driver too old)");
    const NvmlReturn r = init();
    if (r != kNvmlSuccess) {
      shutdown_ = nullptr;  // nothing to shut down
      return Status::error(std::string("nvmlInit: ") + error_string_(r));
    }
    return Status::ok();
  }

  std::string driver_version() const {
    char buf[96] = {};
    return driver_version_(buf, sizeof buf) == kNvmlSuccess ? buf : "";
  }

  // Fills what NVML knows; a field NVML cannot read (not supported on this
  // board) stays 0.
  Status describe(const std::string& pci_bus_id, ProbeGpu& g) const {
    NvmlDevice dev = nullptr;
    const NvmlReturn r = by_bus_id_(pci_bus_id.c_str(), &dev);
    if (r != kNvmlSuccess) {
      return Status::error("NVML does not know GPU " + pci_bus_id + ": " + error_string_(r));
    }
    unsigned v = 0;
    if (max_clock_(dev, kNvmlClockSm, &v) == kNvmlSuccess) g.max_sm_clock_mhz = int(v);
    if (max_clock_(dev, kNvmlClockMem, &v) == kNvmlSuccess) g.max_memory_clock_mhz = int(v);
    // The current link may train down while idle to save power; the maximum is
    // what the slot and board allow.
    if (curr_gen_(dev, &v) == kNvmlSuccess) g.pcie_generation = int(v);
    if (curr_width_(dev, &v) == kNvmlSuccess) g.pcie_width = int(v);
    if (max_gen_(dev, &v) == kNvmlSuccess) g.pcie_max_generation = int(v);
    if (max_width_(dev, &v) == kNvmlSuccess) g.pcie_max_width = int(v);
    for (unsigned link = 0; link < kNvmlNvLinkMaxLinks; ++link) {
      int state = 0;
      if (nvlink_state_(dev, link, &state) == kNvmlSuccess && state == kNvmlFeatureEnabled) {
        ++g.nvlink_active_links;
      }
    }
    return Status::ok();
  }

 private:
  template <class F>
  bool sym(F& f, const char* name) {
    f = reinterpret_cast<F>(::dlsym(lib_, name));
    return f != nullptr;
  }

  void* lib_ = nullptr;
  NvmlReturn (*shutdown_)() = nullptr;
  const char* (*error_string_)(NvmlReturn) = nullptr;
  NvmlReturn (*driver_version_)(char*, unsigned) = nullptr;
  NvmlReturn (*by_bus_id_)(const char*, NvmlDevice*) = nullptr;
  NvmlReturn (*max_clock_)(NvmlDevice, int, unsigned*) = nullptr;
  NvmlReturn (*curr_gen_)(NvmlDevice, unsigned*) = nullptr;
  NvmlReturn (*curr_width_)(NvmlDevice, unsigned*) = nullptr;
  NvmlReturn (*max_gen_)(NvmlDevice, unsigned*) = nullptr;
  NvmlReturn (*max_width_)(NvmlDevice, unsigned*) = nullptr;
  NvmlReturn (*nvlink_state_)(NvmlDevice, unsigned, int*) = nullptr;
};

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
  Nvml nvml;
  FLOTILLA_TRY(nvml.open());
  r.nvml_driver_version = nvml.driver_version();
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
    FLOTILLA_TRY(nvml.describe(g.pci_bus_id, g));
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
