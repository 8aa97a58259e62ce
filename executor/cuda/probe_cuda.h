// The parts of the CUDA probe module, put together by probe_module.cpp.
// Internal to executor/cuda/.
#pragma once

#include <memory>

#include "executor/probe_module.h"
#include "executor/probe_report.h"
#include "executor/proof_of_compute.h"
#include "scheduler/status.h"

namespace flotilla::cuda {

// Host, driver and runtime versions, every visible GPU (CUDA runtime + NVML)
// and the P2P matrix. Errors: no driver, no GPU, NVML missing.
Result<ProbeReport> inventory();

// GEMM, copy and pinned transfers on every GPU of `report`, then NCCL
// all-reduce over the first 1..n GPUs; appended to `report`.
Status measure(ProbeReport& report, const ProbeOptions& options);

// The proof-of-compute prover on `device` (gpu_prover.cpp).
Result<std::unique_ptr<proof::Prover>> make_gpu_prover(int device);

}  // namespace flotilla::cuda
