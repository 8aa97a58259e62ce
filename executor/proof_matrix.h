// The matrices of a proof of compute, defined element by element so that the
// prover (on the GPU or the CPU) and the verifier generate the same A and B from
// a seed without exchanging them. Header-only and usable from CUDA device code,
// because the GPU prover fills its matrices with these very functions.
//
// Why these values: every element is +-k/16 with k in 1..16. Such values are
// exact in BF16 (at most 5 significant bits), so a BF16 GEMM sees exactly the
// numbers the verifier uses; each product is a multiple of 2^-8 with magnitude
// at most 1, so every partial sum of a row-times-column dot product is a
// multiple of 2^-8 below n. For n <= 2^14 that needs at most 14 + 8 = 22
// significant bits, which FP32 (24 bits) holds exactly: an FP32 accumulator
// gets the exact result in ANY summation order, with any blocking or split-K,
// and even with the truncating alignment that tensor cores use (Fasi, Higham,
// Mikaitis, Pranesh, "Numerical behavior of NVIDIA tensor cores", PeerJ CS 2021).
// Zero never occurs, so a prover cannot skip work on sparse inputs.
#pragma once

#include <cstdint>

#ifdef __CUDACC__
#define FLOTILLA_HOST_DEVICE __host__ __device__
#else
#define FLOTILLA_HOST_DEVICE
#endif

namespace flotilla::proof {

// Largest matrix side for which the exactness argument above holds.
constexpr std::uint32_t kMaxMatrixSide = 1u << 14;
// Sides must be a multiple of this (keeps cuBLASLt on its aligned fast paths).
constexpr std::uint32_t kMatrixSideMultiple = 16;

enum class Operand : std::uint32_t { kA = 0, kB = 1 };

// SplitMix64's output function (Steele, Lea, Flood, "Fast splittable
// pseudorandom number generators", OOPSLA 2014): a bijective mix of a counter.
FLOTILLA_HOST_DEVICE inline std::uint64_t splitmix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Draw number `counter` of the stream of `seed`: +-k/16, k in 1..16.
FLOTILLA_HOST_DEVICE inline float element_at(std::uint64_t seed, std::uint64_t counter) {
  const std::uint64_t bits = splitmix64(seed + (counter + 1) * 0x9e3779b97f4a7c15ULL);
  const float magnitude = static_cast<float>((bits >> 32) % 16 + 1) / 16.0f;
  return (bits & 1) ? -magnitude : magnitude;
}

// Counter of element (row, col) of operand `which` of an n x n matrix,
// row-major: element e of A is draw e, of B draw n^2 + e, so any element is
// computed on its own, in any order, on any device.
FLOTILLA_HOST_DEVICE inline std::uint64_t element_counter(Operand which, std::uint32_t n,
                                                          std::uint32_t row, std::uint32_t col) {
  const std::uint64_t n2 = static_cast<std::uint64_t>(n) * n;
  return static_cast<std::uint64_t>(which) * n2 + static_cast<std::uint64_t>(row) * n + col;
}

FLOTILLA_HOST_DEVICE inline float matrix_element(std::uint64_t seed, Operand which, std::uint32_t n,
                                                 std::uint32_t row, std::uint32_t col) {
  return element_at(seed, element_counter(which, n, row, col));
}

}  // namespace flotilla::proof
