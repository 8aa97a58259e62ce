// A square BF16 GEMM through cuBLASLt with FP32 accumulation, on row-major
// matrices: D = A x B, D in BF16 (what throughput is measured on, like
// torch.matmul) or FP32 (the proof of compute, whose check needs the exact sum).
// One handle, descriptors and algorithm per size; move-only, one thread.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>

#include "executor/cuda/cuda_check.h"
#include "scheduler/status.h"

namespace flotilla::cuda {

class BlasLtGemm {
 public:
  enum class Output { kBf16, kFp32 };
  static Result<std::unique_ptr<BlasLtGemm>> create(std::uint32_t n, Output output);
  ~BlasLtGemm();
  BlasLtGemm(const BlasLtGemm&) = delete;
  BlasLtGemm& operator=(const BlasLtGemm&) = delete;

  // a, b: n x n BF16; d: n x n of the output type; all row-major, on the
  // current device.
  Status run(const void* a, const void* b, void* d, cudaStream_t stream);

 private:
  BlasLtGemm() = default;
  cublasLtHandle_t handle_ = nullptr;
  cublasLtMatmulDesc_t op_ = nullptr;
  cublasLtMatrixLayout_t in_ = nullptr, out_ = nullptr;
  cublasLtMatmulHeuristicResult_t algo_{};
  DeviceBuffer<std::uint8_t> workspace_;
};

}  // namespace flotilla::cuda
