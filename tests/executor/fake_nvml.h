// Test access to the stand-in NVML library (fake_nvml.cpp), which stands in
// for an NVIDIA driver that CI machines do not have. The loader under test
// opens it by path (FLOTILLA_FAKE_NVML); dlopen of the same path gives the
// same copy, so the script set here is what the loader sees.
#pragma once

#include <dlfcn.h>

#include <stdexcept>
#include <string>

namespace flotilla::testing {

inline constexpr const char* kFakeNvml = FLOTILLA_FAKE_NVML;

// The next nvmlInit fails with `init_error` (an NVML code; 0: succeeds); the
// energy counters answer NVML_ERROR_NOT_SUPPORTED unless `energy_supported`.
inline void script_fake_nvml(int init_error, bool energy_supported) {
  // Kept open for the test's life, so that the library and its script stay.
  static void* const lib = ::dlopen(kFakeNvml, RTLD_NOW | RTLD_LOCAL);
  if (!lib) throw std::runtime_error(std::string("cannot open ") + kFakeNvml);
  using Script = void (*)(int, int);
  const auto script = reinterpret_cast<Script>(::dlsym(lib, "flotilla_fake_nvml_script"));
  if (!script) throw std::runtime_error("the stand-in NVML has no flotilla_fake_nvml_script");
  script(init_error, energy_supported ? 1 : 0);
}

// What GPU `index` of the stand-in adds to its counter at every read.
constexpr unsigned long long fake_nvml_rise_mj(unsigned index) {
  return (10'000ull << index) + 300;
}

}  // namespace flotilla::testing
