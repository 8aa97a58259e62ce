// CUDA, cuBLASLt and NCCL results as flotilla Status, and owners for device
// memory, pinned host memory, streams and events, so that every call is checked
// and nothing leaks on an early error return. Internal to executor/cuda/.
// Each owner is move-only and used from one thread.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <string>
#include <utility>

#include "scheduler/status.h"

// Returns the Status of `expr` from the enclosing function when it is an error.
#define FLOTILLA_TRY(expr)                              \
  do {                                                  \
    if (::flotilla::Status s_ = (expr); !s_) return s_; \
  } while (0)

namespace flotilla::cuda {

inline Status check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return Status::ok();
  return Status::error(std::string(what) + ": " + cudaGetErrorString(e));
}

inline Status check(cublasStatus_t e, const char* what) {
  if (e == CUBLAS_STATUS_SUCCESS) return Status::ok();
  return Status::error(std::string(what) + ": cuBLASLt status " + std::to_string(int(e)));
}

template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(DeviceBuffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(o.n_) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    return *this;
  }
  ~DeviceBuffer() {
    if (p_) cudaFree(p_);
  }
  Status allocate(std::size_t count, const char* what) {
    if (p_) cudaFree(std::exchange(p_, nullptr));
    n_ = count;
    return check(cudaMalloc(reinterpret_cast<void**>(&p_), count * sizeof(T)), what);
  }
  T* get() const { return p_; }
  std::size_t size() const { return n_; }

 private:
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

template <class T>
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  ~PinnedBuffer() {
    if (p_) cudaFreeHost(p_);
  }
  Status allocate(std::size_t count, const char* what) {
    return check(cudaMallocHost(reinterpret_cast<void**>(&p_), count * sizeof(T)), what);
  }
  T* get() const { return p_; }

 private:
  T* p_ = nullptr;
};

class Stream {
 public:
  Stream() = default;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() {
    if (s_) cudaStreamDestroy(s_);
  }
  Status create() {
    return check(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking), "cudaStreamCreate");
  }
  cudaStream_t get() const { return s_; }

 private:
  cudaStream_t s_ = nullptr;
};

class Event {
 public:
  Event() = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  ~Event() {
    if (e_) cudaEventDestroy(e_);
  }
  Status create() { return check(cudaEventCreate(&e_), "cudaEventCreate"); }
  cudaEvent_t get() const { return e_; }

 private:
  cudaEvent_t e_ = nullptr;
};

}  // namespace flotilla::cuda
