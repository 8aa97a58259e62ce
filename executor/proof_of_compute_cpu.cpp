#include "executor/proof_of_compute_cpu.h"

#include <utility>

#include "executor/proof_matrix.h"

namespace flotilla::proof {

std::vector<float> cpu_product(std::uint64_t seed, std::uint32_t n) {
  std::vector<float> a(std::size_t{n} * n), b(std::size_t{n} * n), c(std::size_t{n} * n, 0.0f);
  for (std::uint32_t i = 0; i < n; ++i) {
    for (std::uint32_t j = 0; j < n; ++j) {
      a[std::size_t{i} * n + j] = matrix_element(seed, Operand::kA, n, i, j);
      b[std::size_t{i} * n + j] = matrix_element(seed, Operand::kB, n, i, j);
    }
  }
  for (std::uint32_t i = 0; i < n; ++i) {
    float* c_row = &c[std::size_t{i} * n];
    for (std::uint32_t k = 0; k < n; ++k) {
      const float aik = a[std::size_t{i} * n + k];
      const float* b_row = &b[std::size_t{k} * n];
      for (std::uint32_t j = 0; j < n; ++j) c_row[j] += aik * b_row[j];
    }
  }
  return c;
}

namespace {
std::vector<Digest> row_leaves(std::uint32_t n, const std::vector<float>& values) {
  std::vector<Digest> leaves;
  leaves.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    const auto first = values.begin() + static_cast<std::ptrdiff_t>(std::size_t{i} * n);
    leaves.push_back(row_leaf(i, std::vector<float>(first, first + n)));
  }
  return leaves;
}
}  // namespace

CommittedMatrix::CommittedMatrix(std::uint32_t n, std::vector<float> row_major)
    : n_(n), values_(std::move(row_major)), tree_(row_leaves(n_, values_)) {}

Opening CommittedMatrix::open(const std::vector<std::uint32_t>& rows) const {
  Opening o;
  for (std::uint32_t r : rows) {
    const auto first = values_.begin() + static_cast<std::ptrdiff_t>(std::size_t{r} * n_);
    o.rows.push_back(
        RowOpening{r, std::vector<float>(first, first + n_), tree_.inclusion_proof(r)});
  }
  return o;
}

Result<Commitment> CpuProver::commit(const Challenge& challenge) {
  if (Status s = check_challenge(challenge); !s) return s;
  challenge_ = challenge;
  committed_.emplace(challenge.n, cpu_product(challenge.seed, challenge.n));
  return committed_->commitment();
}

Result<Opening> CpuProver::open(const OpeningRequest& request) {
  if (!committed_) return Status::error("open before commit");
  Result<std::vector<std::uint32_t>> rows =
      rows_to_open(*challenge_, committed_->commitment(), request);
  if (!rows) return rows.status();
  return committed_->open(*rows);
}

}  // namespace flotilla::proof
