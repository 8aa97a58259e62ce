// A stand-in for the NVIDIA driver's libnvidia-ml.so.1, for tests only: CI
// machines have no NVIDIA driver, so without it the NVML paths of the
// executor (GPU names, energy per job) could never run there. It exports the
// entry points executor/nvml.cpp resolves, with the ABI of the NVML API
// reference, and four scripted GPUs:
// - GPU i's energy counter starts at 5,000,000 mJ and rises by
//   2^i * 10 J + 300 mJ at every read, so a job reads exactly one rise per GPU
//   between its launch and its end, and the sum over any set of GPUs tells
//   which GPUs were read (and shows rounding: 300 mJ per GPU);
// - flotilla_fake_nvml_script(init_error, energy_supported) makes the next
//   nvmlInit fail with that NVML code (0: succeed) and the energy counters
//   answer NVML_ERROR_NOT_SUPPORTED (as boards before Volta do).
// Built as libnvidia-ml.so.1 in its own folder, so that a test can also put
// it first on LD_LIBRARY_PATH for processes it starts.
#include <cstdio>
#include <cstring>

namespace {

using Return = int;
constexpr Return kSuccess = 0, kInvalidArgument = 2, kNotSupported = 3, kNotFound = 6;
constexpr unsigned kGpus = 4;

struct Gpu {
  unsigned index;
  unsigned long long energy_mj;
};
Gpu g_gpus[kGpus] = {{0, 5'000'000}, {1, 5'000'000}, {2, 5'000'000}, {3, 5'000'000}};
Return g_init_error = kSuccess;
bool g_energy_supported = true;

Return copy(const char* text, char* out, unsigned length) {
  if (std::strlen(text) + 1 > length) return kInvalidArgument;
  std::memcpy(out, text, std::strlen(text) + 1);
  return kSuccess;
}

}  // namespace

extern "C" {

void flotilla_fake_nvml_script(int init_error, int energy_supported) {
  g_init_error = init_error;
  g_energy_supported = energy_supported != 0;
}

Return nvmlInit_v2() {
  return g_init_error;
}
Return nvmlShutdown() {
  return kSuccess;
}
const char* nvmlErrorString(Return r) {
  switch (r) {
    case kInvalidArgument:
      return "Invalid Argument";
    case kNotSupported:
      return "Not Supported";
    case 9:  // NVML_ERROR_DRIVER_NOT_LOADED
      return "Driver Not Loaded";
    default:
      return "Unknown Error";
  }
}
Return nvmlSystemGetDriverVersion(char* version, unsigned length) {
  return copy("580.65.06", version, length);
}
Return nvmlDeviceGetCount_v2(unsigned* count) {
  *count = kGpus;
  return kSuccess;
}
Return nvmlDeviceGetHandleByIndex_v2(unsigned index, Gpu** device) {
  if (index >= kGpus) return kInvalidArgument;
  *device = &g_gpus[index];
  return kSuccess;
}
Return nvmlDeviceGetHandleByPciBusId_v2(const char* bus_id, Gpu** device) {
  for (Gpu& g : g_gpus) {
    char id[32];
    std::snprintf(id, sizeof id, "0000:%02x:00.0", 0x10 + g.index);
    if (std::strcmp(id, bus_id) == 0) {
      *device = &g;
      return kSuccess;
    }
  }
  return kNotFound;
}
Return nvmlDeviceGetName(Gpu*, char* name, unsigned length) {
  return copy("NVIDIA H100 80GB HBM3", name, length);
}
Return nvmlDeviceGetMaxClockInfo(Gpu*, int, unsigned*) {
  return kNotSupported;
}
Return nvmlDeviceGetCurrPcieLinkGeneration(Gpu*, unsigned*) {
  return kNotSupported;
}
Return nvmlDeviceGetCurrPcieLinkWidth(Gpu*, unsigned*) {
  return kNotSupported;
}
Return nvmlDeviceGetMaxPcieLinkGeneration(Gpu*, unsigned*) {
  return kNotSupported;
}
Return nvmlDeviceGetMaxPcieLinkWidth(Gpu*, unsigned*) {
  return kNotSupported;
}
Return nvmlDeviceGetNvLinkState(Gpu*, unsigned, int*) {
  return kNotSupported;
}
Return nvmlDeviceGetTotalEnergyConsumption(Gpu* device, unsigned long long* energy_mj) {
  if (!g_energy_supported) return kNotSupported;
  device->energy_mj += (10'000ull << device->index) + 300;
  *energy_mj = device->energy_mj;
  return kSuccess;
}

}  // extern "C"
