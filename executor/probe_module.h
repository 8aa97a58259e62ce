// The interface between `flotilla probe` and the CUDA probe module
// (libflotilla_probe_cuda.so, built from executor/cuda/ only where nvcc is
// found). The module is loaded at run time rather than linked because the CUDA
// libraries take most of a second to load, which every other flotilla command
// would pay, and because a binary whose CUDA libraries are missing must still
// start and say so in one line. Module and program come from the same build,
// so C++ types cross the boundary; kProbeModuleAbi guards against strays.
#pragma once

#include <memory>

#include "executor/probe_report.h"
#include "executor/proof_of_compute.h"
#include "scheduler/status.h"

namespace flotilla {

constexpr int kProbeModuleAbi = 1;

struct ProbeOptions {
  bool quick = false;  // fewer sizes and repeats (for a first look; not for records)
};

struct ProbeModule {
  int abi = kProbeModuleAbi;
  // Inventory and measurements of every visible GPU. Errors name what is
  // missing: no driver, no GPU, NVML not loadable.
  Result<ProbeReport> (*probe)(const ProbeOptions& options);
  // A proof-of-compute prover on CUDA device `device`.
  Result<std::unique_ptr<proof::Prover>> (*gpu_prover)(int device);
};

}  // namespace flotilla

// The module's one exported symbol.
extern "C" const flotilla::ProbeModule* flotilla_probe_module();
constexpr const char* kProbeModuleSymbol = "flotilla_probe_module";
constexpr const char* kProbeModuleFile = "libflotilla_probe_cuda.so";
