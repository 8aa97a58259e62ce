// The CPU prover of proof of compute: the same protocol as the GPU prover
// (executor/cuda/gpu_prover.cpp), in plain C++ for small n, so that CI tests the
// protocol and its cheat cases without a GPU. Also the pieces a prover is made
// of, which the tests reuse to build dishonest provers.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "executor/proof_merkle.h"
#include "executor/proof_of_compute.h"

namespace flotilla::proof {

// C = A x B for the matrices of `seed` (proof_matrix.h), row-major, with FP32
// accumulation as a GPU does it. O(n^3): for tests and small n.
std::vector<float> cpu_product(std::uint64_t seed, std::uint32_t n);

// An n x n matrix a prover has committed to: its rows and their Merkle tree.
// Immutable; safe to share between threads.
class CommittedMatrix {
 public:
  CommittedMatrix(std::uint32_t n, std::vector<float> row_major);
  Commitment commitment() const { return {n_, tree_.root()}; }
  // The rows with their inclusion proofs, in the order given.
  Opening open(const std::vector<std::uint32_t>& rows) const;

 private:
  std::uint32_t n_;
  std::vector<float> values_;
  MerkleTree tree_;
};

// Honest prover on the CPU. Not thread-safe.
class CpuProver final : public Prover {
 public:
  Result<Commitment> commit(const Challenge& challenge) override;
  Result<Opening> open(const OpeningRequest& request) override;

 private:
  std::optional<Challenge> challenge_;
  std::optional<CommittedMatrix> committed_;
};

}  // namespace flotilla::proof
