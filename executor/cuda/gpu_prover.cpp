// The GPU prover of proof of compute: A and B generated on the GPU from the
// seed, C = A x B through cuBLASLt with an FP32 output, each row hashed where
// it lies, and only the n row hashes copied to the host for the Merkle tree.
// The verifier times commit() from the outside, so nothing here is timed.
#include <optional>

#include "executor/cuda/blaslt_gemm.h"
#include "executor/cuda/cuda_check.h"
#include "executor/cuda/probe_cuda.h"
#include "executor/cuda/probe_kernels.h"
#include "executor/proof_matrix.h"
#include "executor/proof_merkle.h"
#include "executor/proof_sha256.h"

namespace flotilla::cuda {
namespace {

// Not thread-safe; owns its device memory.
class GpuProver final : public proof::Prover {
 public:
  explicit GpuProver(int device) : device_(device) {}

  // One untimed run: allocations, cuBLASLt's kernel loading and the clock
  // ramp-up of a cold GPU would otherwise count against the prover.
  Status prepare(std::uint32_t n) override {
    proof::Challenge warm_up;
    warm_up.n = n;
    Result<proof::Commitment> c = commit(warm_up);
    challenge_.reset();
    tree_.reset();
    return c.status();
  }

  Result<proof::Commitment> commit(const proof::Challenge& ch) override {
    FLOTILLA_TRY(proof::check_challenge(ch));
    FLOTILLA_TRY(check(cudaSetDevice(device_), "cudaSetDevice"));
    if (!stream_.get()) FLOTILLA_TRY(stream_.create());
    const std::size_t n = ch.n, n2 = n * n;
    if (c_.size() != n2) {
      FLOTILLA_TRY(a_.allocate(n2, "cudaMalloc (A)"));
      FLOTILLA_TRY(b_.allocate(n2, "cudaMalloc (B)"));
      FLOTILLA_TRY(c_.allocate(n2, "cudaMalloc (C)"));
      FLOTILLA_TRY(digests_.allocate(32 * n, "cudaMalloc (row hashes)"));
      FLOTILLA_TRY(
          chunk_digests_.allocate(32 * n * proof::leaf_chunks(ch.n), "cudaMalloc (chunk hashes)"));
      Result<std::unique_ptr<BlasLtGemm>> gemm =
          BlasLtGemm::create(ch.n, BlasLtGemm::Output::kFp32);
      if (!gemm) return gemm.status();
      gemm_ = std::move(*gemm);
    }
    FLOTILLA_TRY(
        check(fill_bf16(a_.get(), n2, ch.seed,
                        proof::element_counter(proof::Operand::kA, ch.n, 0, 0), stream_.get()),
              "fill A"));
    FLOTILLA_TRY(
        check(fill_bf16(b_.get(), n2, ch.seed,
                        proof::element_counter(proof::Operand::kB, ch.n, 0, 0), stream_.get()),
              "fill B"));
    FLOTILLA_TRY(gemm_->run(a_.get(), b_.get(), c_.get(), stream_.get()));
    FLOTILLA_TRY(
        check(hash_rows(c_.get(), ch.n, chunk_digests_.get(), digests_.get(), stream_.get()),
              "hash rows"));
    std::vector<proof::Digest> leaves(n);
    FLOTILLA_TRY(check(cudaMemcpyAsync(leaves.data(), digests_.get(), 32 * n,
                                       cudaMemcpyDeviceToHost, stream_.get()),
                       "cudaMemcpy (row hashes)"));
    FLOTILLA_TRY(check(cudaStreamSynchronize(stream_.get()), "proof of compute on the GPU"));
    challenge_ = ch;
    tree_.emplace(std::move(leaves));
    return proof::Commitment{ch.n, tree_->root()};
  }

  Result<proof::Opening> open(const proof::OpeningRequest& request) override {
    if (!tree_) return Status::error("open before commit");
    Result<std::vector<std::uint32_t>> rows =
        proof::rows_to_open(*challenge_, proof::Commitment{challenge_->n, tree_->root()}, request);
    if (!rows) return rows.status();
    FLOTILLA_TRY(check(cudaSetDevice(device_), "cudaSetDevice"));
    proof::Opening o;
    for (std::uint32_t r : *rows) {
      proof::RowOpening row{r, std::vector<float>(challenge_->n), tree_->inclusion_proof(r)};
      FLOTILLA_TRY(check(cudaMemcpy(row.values.data(), c_.get() + std::size_t{r} * challenge_->n,
                                    sizeof(float) * challenge_->n, cudaMemcpyDeviceToHost),
                         "cudaMemcpy (opened row)"));
      o.rows.push_back(std::move(row));
    }
    return o;
  }

 private:
  int device_;
  Stream stream_;
  DeviceBuffer<std::uint16_t> a_, b_;  // BF16 bits
  DeviceBuffer<float> c_;
  DeviceBuffer<std::uint8_t> digests_, chunk_digests_;
  std::unique_ptr<BlasLtGemm> gemm_;
  std::optional<proof::Challenge> challenge_;
  std::optional<proof::MerkleTree> tree_;
};

}  // namespace

Result<std::unique_ptr<proof::Prover>> make_gpu_prover(int device) {
  int count = 0;
  FLOTILLA_TRY(check(cudaGetDeviceCount(&count), "no usable GPU (cudaGetDeviceCount)"));
  if (device < 0 || device >= count) {
    return Status::error("no CUDA device " + std::to_string(device) + " (" + std::to_string(count) +
                         " visible)");
  }
  return std::unique_ptr<proof::Prover>(new GpuProver(device));
}

}  // namespace flotilla::cuda
