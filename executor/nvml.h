// NVML, the NVIDIA driver's management library, for the executor (GPU names,
// energy per job) and the GPU probe (cuda/: driver version, clocks, PCIe,
// NVLink). NVML ships with the driver, not the CUDA toolkit (a build machine
// may have no nvml.h and no driver), so the library is opened at run time and
// the few entry points used are declared from the NVML API reference
// (docs.nvidia.com/deploy/nvml-api) and resolved with dlsym, here only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "scheduler/status.h"

namespace flotilla::executor {

// The driver installs it under this name (ld.so finds it as any library).
inline constexpr const char* kNvmlLibrary = "libnvidia-ml.so.1";

// One loaded and initialised NVML; shut down and unloaded on destruction.
// Not thread-safe (NVML is, but nothing here needs it from two threads).
class Nvml {
 public:
  using Device = struct NvmlDeviceOpaque*;    // nvmlDevice_t
  enum class Clock { kSm = 1, kMemory = 2 };  // nvmlClockType_t's values
  enum class PcieLink { kGeneration, kWidth, kMaxGeneration, kMaxWidth };

  // Opens `library` (a name for ld.so or a path; tests pass a stand-in) and
  // initialises it. The errors, one line each: "LIB not found (no NVIDIA
  // driver)", "LIB lacks NAME (driver too old)", "nvmlInit: NVML's reason".
  static Result<std::unique_ptr<Nvml>> open(const std::string& library = kNvmlLibrary);
  ~Nvml();
  Nvml(const Nvml&) = delete;
  Nvml& operator=(const Nvml&) = delete;

  // Empty where NVML cannot say.
  std::string driver_version() const;
  Result<unsigned> device_count() const;
  // By NVML's index: PCI bus order, as nvidia-smi numbers the GPUs (and as
  // CUDA does for a node of one GPU type, the only kind a fleet declares).
  Result<Device> device_at(unsigned index) const;
  // By PCI bus id as the CUDA runtime writes it ("0000:17:00.0").
  Result<Device> device_by_pci_bus_id(const std::string& bus_id) const;

  // nullopt where the board or driver cannot say (NVML_ERROR_NOT_SUPPORTED).
  std::optional<std::string> name(Device device) const;
  std::optional<unsigned> max_clock_mhz(Device device, Clock clock) const;
  std::optional<unsigned> pcie_link(Device device, PcieLink what) const;
  unsigned active_nvlinks(Device device) const;
  // Millijoules the GPU used since the driver was loaded (Volta and newer).
  std::optional<std::uint64_t> total_energy_mj(Device device) const;

 private:
  struct Api;  // the resolved entry points
  Nvml(void* library, std::unique_ptr<Api> api);
  std::string why(int nvml_return) const;  // nvmlErrorString

  void* library_;
  std::unique_ptr<Api> api_;
  bool initialised_ = false;
};

}  // namespace flotilla::executor
