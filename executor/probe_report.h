// What `flotilla probe` found on a node: the GPUs through the CUDA runtime and
// NVML, and what they measured. Executor registration records it, and the
// simulator can calibrate its GPU catalog from it. Times are integer
// nanoseconds and sizes integer bytes or FLOPs; the rates are derived from them.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "scheduler/status.h"

namespace flotilla {

struct ProbeGpu {
  int index = 0;  // CUDA device ordinal
  std::string name;
  std::string uuid;
  std::string pci_bus_id;
  std::uint64_t memory_bytes = 0;
  int sm_count = 0;
  int compute_capability_major = 0, compute_capability_minor = 0;
  int max_sm_clock_mhz = 0, max_memory_clock_mhz = 0;  // NVML
  int pcie_generation = 0, pcie_width = 0;             // NVML, current link
  int pcie_max_generation = 0, pcie_max_width = 0;     // NVML, what the slot allows
  int nvlink_active_links = 0;                         // NVML
};

// One timed operation: median of the repeats, after warm-up.
struct ProbeTiming {
  std::uint64_t work = 0;  // FLOPs for a GEMM, bytes moved otherwise
  std::chrono::nanoseconds median{0};
  // FLOP/s or B/s; 0 when nothing was timed.
  double rate() const;
};

struct ProbeGemm {
  std::uint32_t n = 0;  // n x n x n BF16 GEMM, FP32 accumulation
  ProbeTiming timing;
};

// Measurements of one GPU.
struct ProbeMeasurement {
  int gpu = 0;
  std::vector<ProbeGemm> gemm;  // one per size tried
  // Largest |GPU - CPU| / |CPU| over checked elements of a BF16-output GEMM.
  double gemm_max_relative_error = 0;
  ProbeTiming device_copy;                     // bytes read + written by the copy kernel
  ProbeTiming host_to_device, device_to_host;  // pinned host memory

  double best_gemm_tflops() const;
};

// NCCL all-reduce across the first `gpus` GPUs.
struct ProbeAllReduce {
  int gpus = 0;
  std::uint64_t bytes = 0;  // buffer size per GPU
  std::chrono::nanoseconds median{0};
  // NCCL's bus bandwidth: bytes/time x 2(gpus-1)/gpus (NCCL doc/PERFORMANCE.md).
  double bus_bandwidth() const;
};

struct ProbeReport {
  std::string host;
  int cuda_driver_version = 0, cuda_runtime_version = 0;  // e.g. 13000
  std::string nvml_driver_version;
  std::vector<ProbeGpu> gpus;
  // p2p[i][j]: GPU i can read GPU j's memory directly (cudaDeviceCanAccessPeer).
  std::vector<std::vector<bool>> p2p;
  std::vector<ProbeMeasurement> measurements;
  std::vector<ProbeAllReduce> all_reduce;
};

// Derived rates (TFLOP/s, GB/s) are written next to the raw figures for
// people and ignored on reading.
nlohmann::json to_json(const ProbeReport& r);
// `origin` (a file name) starts every error.
Result<ProbeReport> probe_report_from_json(const nlohmann::json& j, const std::string& origin);
Result<ProbeReport> parse_probe_report(const std::string& text, const std::string& origin);

}  // namespace flotilla
