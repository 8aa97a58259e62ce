#include "executor/cuda/blaslt_gemm.h"

namespace flotilla::cuda {

namespace {
// cuBLASLt's guidance for Hopper is 32 MiB of workspace; more costs nothing.
constexpr std::size_t kWorkspaceBytes = std::size_t{64} << 20;
}  // namespace

Result<std::unique_ptr<BlasLtGemm>> BlasLtGemm::create(std::uint32_t n, Output output) {
  std::unique_ptr<BlasLtGemm> g(new BlasLtGemm);
  FLOTILLA_TRY(check(cublasLtCreate(&g->handle_), "cublasLtCreate"));
  FLOTILLA_TRY(check(cublasLtMatmulDescCreate(&g->op_, CUBLAS_COMPUTE_32F, CUDA_R_32F),
                     "cublasLtMatmulDescCreate"));
  const cublasOperation_t no_transpose = CUBLAS_OP_N;
  FLOTILLA_TRY(check(cublasLtMatmulDescSetAttribute(g->op_, CUBLASLT_MATMUL_DESC_TRANSA,
                                                    &no_transpose, sizeof no_transpose),
                     "cublasLtMatmulDescSetAttribute"));
  FLOTILLA_TRY(check(cublasLtMatmulDescSetAttribute(g->op_, CUBLASLT_MATMUL_DESC_TRANSB,
                                                    &no_transpose, sizeof no_transpose),
                     "cublasLtMatmulDescSetAttribute"));
  FLOTILLA_TRY(check(cublasLtMatrixLayoutCreate(&g->in_, CUDA_R_16BF, n, n, n),
                     "cublasLtMatrixLayoutCreate"));
  FLOTILLA_TRY(check(cublasLtMatrixLayoutCreate(
                         &g->out_, output == Output::kBf16 ? CUDA_R_16BF : CUDA_R_32F, n, n, n),
                     "cublasLtMatrixLayoutCreate"));
  FLOTILLA_TRY(g->workspace_.allocate(kWorkspaceBytes, "cudaMalloc (GEMM workspace)"));
  cublasLtMatmulPreference_t pref = nullptr;
  FLOTILLA_TRY(check(cublasLtMatmulPreferenceCreate(&pref), "cublasLtMatmulPreferenceCreate"));
  const std::size_t ws = kWorkspaceBytes;
  Status s = check(cublasLtMatmulPreferenceSetAttribute(
                       pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws),
                   "cublasLtMatmulPreferenceSetAttribute");
  int found = 0;
  if (s) {
    s = check(cublasLtMatmulAlgoGetHeuristic(g->handle_, g->op_, g->in_, g->in_, g->out_, g->out_,
                                             pref, 1, &g->algo_, &found),
              "cublasLtMatmulAlgoGetHeuristic");
  }
  cublasLtMatmulPreferenceDestroy(pref);
  FLOTILLA_TRY(s);
  if (found == 0) return Status::error("cuBLASLt has no algorithm for this BF16 GEMM");
  return g;
}

BlasLtGemm::~BlasLtGemm() {
  if (in_) cublasLtMatrixLayoutDestroy(in_);
  if (out_) cublasLtMatrixLayoutDestroy(out_);
  if (op_) cublasLtMatmulDescDestroy(op_);
  if (handle_) cublasLtDestroy(handle_);
}

Status BlasLtGemm::run(const void* a, const void* b, void* d, cudaStream_t stream) {
  const float alpha = 1.0f, beta = 0.0f;
  // cuBLASLt is column-major, where a row-major matrix reads as its transpose:
  // D^T = B^T A^T, so B goes first. D doubles as C (beta = 0).
  return check(cublasLtMatmul(handle_, op_, &alpha, b, in_, a, in_, &beta, d, out_, d, out_,
                              &algo_.algo, workspace_.get(), kWorkspaceBytes, stream),
               "cublasLtMatmul");
}

}  // namespace flotilla::cuda
