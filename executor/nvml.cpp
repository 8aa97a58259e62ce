// NVML opened at run time (see nvml.h).
#include "executor/nvml.h"

#include <dlfcn.h>

namespace flotilla::executor {

namespace {

// NVML's C ABI: nvmlReturn_t is an enum, NVML_SUCCESS = 0.
using Return = int;
using Device = Nvml::Device;
constexpr Return kSuccess = 0;
constexpr unsigned kStringBufferSize = 96;  // NVML_DEVICE_NAME_V2_BUFFER_SIZE, and
                                            // above NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE
constexpr unsigned kNvLinkMaxLinks = 18;    // NVML_NVLINK_MAX_LINKS
constexpr int kFeatureEnabled = 1;          // nvmlEnableState_t

}  // namespace

struct Nvml::Api {
  Return (*init)() = nullptr;
  Return (*shutdown)() = nullptr;
  const char* (*error_string)(Return) = nullptr;
  Return (*driver_version)(char*, unsigned) = nullptr;
  Return (*count)(unsigned*) = nullptr;
  Return (*by_index)(unsigned, Device*) = nullptr;
  Return (*by_bus_id)(const char*, Device*) = nullptr;
  Return (*name)(Device, char*, unsigned) = nullptr;
  Return (*max_clock)(Device, int, unsigned*) = nullptr;
  Return (*pcie[4])(Device, unsigned*) = {};  // indexed by PcieLink
  Return (*nvlink_state)(Device, unsigned, int*) = nullptr;
  Return (*total_energy)(Device, unsigned long long*) = nullptr;
};

Nvml::Nvml(void* library, std::unique_ptr<Api> api) : library_(library), api_(std::move(api)) {}

Nvml::~Nvml() {
  if (initialised_) api_->shutdown();
  ::dlclose(library_);
}

Result<std::unique_ptr<Nvml>> Nvml::open(const std::string& library) {
  void* lib = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) return Status::error(library + " not found (no NVIDIA driver)");
  auto api = std::make_unique<Api>();
  Api& a = *api;
  std::unique_ptr<Nvml> nvml(new Nvml(lib, std::move(api)));
  // Every entry point is resolved up front, so a driver too old for one of
  // them is told at once rather than halfway through a probe.
  const char* missing = nullptr;
  const auto sym = [&](auto& f, const char* name) {
    if (missing) return;
    f = reinterpret_cast<std::remove_reference_t<decltype(f)>>(::dlsym(lib, name));
    if (!f) missing = name;
  };
  sym(a.init, "nvmlInit_v2");
  sym(a.shutdown, "nvmlShutdown");
  sym(a.error_string, "nvmlErrorString");
  sym(a.driver_version, "nvmlSystemGetDriverVersion");
  sym(a.count, "nvmlDeviceGetCount_v2");
  sym(a.by_index, "nvmlDeviceGetHandleByIndex_v2");
  sym(a.by_bus_id, "nvmlDeviceGetHandleByPciBusId_v2");
  sym(a.name, "nvmlDeviceGetName");
  sym(a.max_clock, "nvmlDeviceGetMaxClockInfo");
  sym(a.pcie[static_cast<int>(PcieLink::kGeneration)], "nvmlDeviceGetCurrPcieLinkGeneration");
  sym(a.pcie[static_cast<int>(PcieLink::kWidth)], "nvmlDeviceGetCurrPcieLinkWidth");
  sym(a.pcie[static_cast<int>(PcieLink::kMaxGeneration)], "nvmlDeviceGetMaxPcieLinkGeneration");
  sym(a.pcie[static_cast<int>(PcieLink::kMaxWidth)], "nvmlDeviceGetMaxPcieLinkWidth");
  sym(a.nvlink_state, "nvmlDeviceGetNvLinkState");
  sym(a.total_energy, "nvmlDeviceGetTotalEnergyConsumption");
  if (missing) return Status::error(library + " lacks " + missing + " (driver too old)");
  if (const Return r = a.init(); r != kSuccess) return Status::error("nvmlInit: " + nvml->why(r));
  nvml->initialised_ = true;
  return nvml;
}

std::string Nvml::why(int nvml_return) const {
  const char* text = api_->error_string(nvml_return);
  return text ? text : "NVML error " + std::to_string(nvml_return);
}

std::string Nvml::driver_version() const {
  char buf[kStringBufferSize] = {};
  return api_->driver_version(buf, sizeof buf) == kSuccess ? buf : "";
}

Result<unsigned> Nvml::device_count() const {
  unsigned n = 0;
  if (const Return r = api_->count(&n); r != kSuccess)
    return Status::error("nvmlDeviceGetCount: " + why(r));
  return n;
}

Result<Device> Nvml::device_at(unsigned index) const {
  Device d = nullptr;
  if (const Return r = api_->by_index(index, &d); r != kSuccess)
    return Status::error("NVML has no GPU " + std::to_string(index) + ": " + why(r));
  return d;
}

Result<Device> Nvml::device_by_pci_bus_id(const std::string& bus_id) const {
  Device d = nullptr;
  if (const Return r = api_->by_bus_id(bus_id.c_str(), &d); r != kSuccess)
    return Status::error("NVML does not know GPU " + bus_id + ": " + why(r));
  return d;
}

std::optional<std::string> Nvml::name(Device device) const {
  char buf[kStringBufferSize] = {};
  if (api_->name(device, buf, sizeof buf) != kSuccess) return std::nullopt;
  return std::string(buf);
}

std::optional<unsigned> Nvml::max_clock_mhz(Device device, Clock clock) const {
  unsigned v = 0;
  if (api_->max_clock(device, static_cast<int>(clock), &v) != kSuccess) return std::nullopt;
  return v;
}

std::optional<unsigned> Nvml::pcie_link(Device device, PcieLink what) const {
  unsigned v = 0;
  if (api_->pcie[static_cast<int>(what)](device, &v) != kSuccess) return std::nullopt;
  return v;
}

unsigned Nvml::active_nvlinks(Device device) const {
  unsigned active = 0;
  for (unsigned link = 0; link < kNvLinkMaxLinks; ++link) {
    int state = 0;
    if (api_->nvlink_state(device, link, &state) == kSuccess && state == kFeatureEnabled) ++active;
  }
  return active;
}

std::optional<std::uint64_t> Nvml::total_energy_mj(Device device) const {
  unsigned long long mj = 0;
  if (api_->total_energy(device, &mj) != kSuccess) return std::nullopt;
  return std::uint64_t{mj};
}

}  // namespace flotilla::executor
