// Kernels of the probe and the GPU prover (declared in probe_kernels.h).
#include <cuda_bf16.h>

#include "executor/cuda/probe_kernels.h"
#include "executor/proof_matrix.h"
#include "executor/proof_sha256.h"

namespace flotilla::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void fill_bf16_kernel(__nv_bfloat16* out, std::size_t count, std::uint64_t seed,
                                 std::uint64_t first_counter) {
  const std::size_t stride = std::size_t{gridDim.x} * blockDim.x;
  for (std::size_t e = std::size_t{blockIdx.x} * blockDim.x + threadIdx.x; e < count; e += stride) {
    // Exact: +-k/16 has at most 5 significant bits (proof_matrix.h).
    out[e] = __float2bfloat16_rn(proof::element_at(seed, first_counter + e));
  }
}

__global__ void copy_words_kernel(const uint4* __restrict__ src, uint4* __restrict__ dst,
                                  std::size_t words) {
  const std::size_t stride = std::size_t{gridDim.x} * blockDim.x;
  for (std::size_t i = std::size_t{blockIdx.x} * blockDim.x + threadIdx.x; i < words; i += stride) {
    dst[i] = src[i];
  }
}

__global__ void hash_chunks_kernel(const float* c, std::uint32_t n, std::uint8_t* scratch) {
  const std::uint32_t chunks = proof::leaf_chunks(n);
  const std::size_t item = std::size_t{blockIdx.x} * blockDim.x + threadIdx.x;
  if (item >= std::size_t{n} * chunks) return;
  const auto row = static_cast<std::uint32_t>(item / chunks);
  const auto chunk = static_cast<std::uint32_t>(item % chunks);
  proof::row_chunk_hash(c + std::size_t{row} * n, n, chunk, scratch + item * 32);
}

__global__ void hash_leaves_kernel(const std::uint8_t* scratch, std::uint32_t n,
                                   std::uint8_t* digests) {
  const std::uint32_t row = blockIdx.x * blockDim.x + threadIdx.x;
  if (row >= n) return;
  const std::uint32_t chunks = proof::leaf_chunks(n);
  proof::row_leaf_from_chunks(row, scratch + std::size_t{row} * chunks * 32, chunks,
                              digests + std::size_t{row} * 32);
}

int blocks_for(std::size_t items) {
  const std::size_t blocks = (items + kThreads - 1) / kThreads;
  return static_cast<int>(blocks < 65536 ? blocks : 65536);
}

}  // namespace

cudaError_t fill_bf16(void* bf16, std::size_t count, std::uint64_t seed,
                      std::uint64_t first_counter, cudaStream_t stream) {
  fill_bf16_kernel<<<blocks_for(count), kThreads, 0, stream>>>(static_cast<__nv_bfloat16*>(bf16),
                                                               count, seed, first_counter);
  return cudaGetLastError();
}

cudaError_t copy_words(const void* src, void* dst, std::size_t bytes, int blocks,
                       cudaStream_t stream) {
  copy_words_kernel<<<blocks, kThreads, 0, stream>>>(static_cast<const uint4*>(src),
                                                     static_cast<uint4*>(dst), bytes / 16);
  return cudaGetLastError();
}

cudaError_t hash_rows(const float* c, std::uint32_t n, std::uint8_t* scratch, std::uint8_t* digests,
                      cudaStream_t stream) {
  // Chunks rather than rows per thread: n <= 2^14 rows alone would leave most
  // of a large GPU idle behind SHA-256's long dependency chain.
  const std::size_t items = std::size_t{n} * proof::leaf_chunks(n);
  hash_chunks_kernel<<<static_cast<unsigned>((items + 127) / 128), 128, 0, stream>>>(c, n, scratch);
  if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
  hash_leaves_kernel<<<(n + 127) / 128, 128, 0, stream>>>(scratch, n, digests);
  return cudaGetLastError();
}

}  // namespace flotilla::cuda
