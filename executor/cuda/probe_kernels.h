// The kernels of the probe and the GPU prover, callable from host C++ compiled
// by g++ (pointers are untyped where the element type is a CUDA type). Each
// launch returns the launch's error; execution errors surface at the next
// synchronization, which the callers check.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace flotilla::cuda {

// bf16[e] = element_at(seed, first_counter + e) (executor/proof_matrix.h), for
// e < count: the proof's A and B, and fresh random GEMM inputs.
cudaError_t fill_bf16(void* bf16, std::size_t count, std::uint64_t seed,
                      std::uint64_t first_counter, cudaStream_t stream);

// Copies `bytes` (a multiple of 16) from src to dst in 16-byte words, with a
// grid-stride loop over `blocks` x 256 threads: the memory bandwidth probe.
cudaError_t copy_words(const void* src, void* dst, std::size_t bytes, int blocks,
                       cudaStream_t stream);

// digests[32 r ..] = row_leaf_hash(r, c + r n, n) (executor/proof_sha256.h)
// for every row r of the n x n row-major FP32 matrix c, in two passes: every
// chunk of every row in parallel into `scratch` (n * leaf_chunks(n) * 32
// bytes), then one leaf per row from its chunk hashes.
cudaError_t hash_rows(const float* c, std::uint32_t n, std::uint8_t* scratch, std::uint8_t* digests,
                      cudaStream_t stream);

}  // namespace flotilla::cuda
