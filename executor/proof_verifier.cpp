#include "executor/proof_verifier.h"

#include <sodium.h>

#include <cmath>

namespace flotilla::proof {

namespace {
double flops(std::uint32_t n) {
  return 2.0 * n * static_cast<double>(n) * n;
}
}  // namespace

std::chrono::nanoseconds SteadyClock::now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::steady_clock::now().time_since_epoch());
}

Verifier::Verifier(const GpuCatalog& catalog, Clock& clock, VerifierOptions options)
    : catalog_(catalog), clock_(clock), options_(options) {}

Result<Challenge> Verifier::issue(std::uint32_t n, const std::string& claimed_class) {
  if (sodium_init() < 0) return Status::error("libsodium failed to initialize");
  const auto type = catalog_.find(claimed_class);
  if (!type) return Status::error("claimed class '" + claimed_class + "' is not in the catalog");
  Challenge c;
  c.n = n;
  c.claimed_class = catalog_.at(*type).name;
  if (Status s = check_challenge(c); !s) return s;
  if (options_.rows == 0 || options_.rows > n) {
    return Status::error("rows to open must be in [1, n]");
  }
  randombytes_buf(&c.seed, sizeof c.seed);
  randombytes_buf(secret_.data(), secret_.size());
  crypto_hash_sha256(c.secret_hash.data(), secret_.data(), secret_.size());
  challenge_ = c;
  commitment_.reset();
  started_ = clock_.now();
  return c;
}

Result<OpeningRequest> Verifier::commitment(const Commitment& c) {
  const std::chrono::nanoseconds now = clock_.now();
  if (!challenge_ || commitment_) return Status::error("commitment received out of turn");
  if (c.n != challenge_->n) {
    return Status::error("commitment is for n = " + std::to_string(c.n) +
                         ", challenge was n = " + std::to_string(challenge_->n));
  }
  commitment_ = c;
  elapsed_ = now - started_;
  return OpeningRequest{secret_, options_.rows};
}

Verdict Verifier::verdict(const Opening& opening) {
  Verdict v;
  if (!challenge_ || !commitment_) {
    v.reason = "opening received out of turn";
    return v;
  }
  const Challenge& ch = *challenge_;
  challenge_.reset();  // one verdict per challenge
  v.claimed_class = ch.claimed_class;
  v.elapsed = elapsed_;
  if (elapsed_.count() > 0)
    v.measured_tflops = flops(ch.n) / static_cast<double>(elapsed_.count()) / 1e3;
  if (const auto fastest = fastest_class_reached(catalog_, v.measured_tflops, options_.rule)) {
    v.fastest_class = catalog_.at(*fastest).name;
  }

  const std::vector<std::uint32_t> rows =
      challenge_rows(secret_, commitment_->root, ch.n, options_.rows);
  if (opening.rows.size() != rows.size()) {
    v.reason = "opened " + std::to_string(opening.rows.size()) + " rows, asked for " +
               std::to_string(rows.size());
    return v;
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const RowOpening& r = opening.rows[i];
    const std::string which = "row " + std::to_string(rows[i]);
    if (r.row != rows[i]) {
      v.reason = "opened row " + std::to_string(r.row) + " where " + which + " was asked";
      return v;
    }
    if (r.values.size() != ch.n) {
      v.reason = which + " has " + std::to_string(r.values.size()) + " values, not n";
      return v;
    }
    const auto root = merkle_root_from_proof(row_leaf(r.row, r.values), r.row, ch.n, r.proof);
    if (!root || *root != commitment_->root) {
      v.reason = which + ": Merkle proof does not lead to the committed root";
      return v;
    }
  }
  // Values last: the proofs are cheap, the recomputation is O(k n^2).
  const std::vector<ReferenceRow> refs = reference_rows(ch.seed, ch.n, rows);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const RowOpening& r = opening.rows[i];
    const ReferenceRow& ref = refs[i];
    for (std::uint32_t j = 0; j < ch.n; ++j) {
      const double err = std::fabs(static_cast<double>(r.values[j]) - ref.exact[j]);
      if (!(err <= kRelativeTolerance * ref.magnitude[j])) {  // also catches NaN
        v.reason = "row " + std::to_string(r.row) + ", column " + std::to_string(j) + ": " +
                   std::to_string(r.values[j]) + " is not A x B (expected " +
                   std::to_string(ref.exact[j]) + ")";
        return v;
      }
    }
  }
  const GpuType& claimed = catalog_.at(*catalog_.find(ch.claimed_class));
  if (!reaches_class(v.measured_tflops, claimed, options_.rule)) {
    v.reason = "measured " + std::to_string(v.measured_tflops) + " TFLOP/s, below the " +
               std::to_string(class_threshold_tflops(claimed, options_.rule)) + " TFLOP/s a " +
               claimed.name + " must reach";
    return v;
  }
  v.accepted = true;
  v.reason = "ok";
  return v;
}

Result<Verdict> prove_and_verify(Verifier& verifier, Prover& prover, std::uint32_t n,
                                 const std::string& claimed_class) {
  if (Status s = prover.prepare(n); !s)
    return Status::error("prover failed to prepare: " + s.message());
  Result<Challenge> challenge = verifier.issue(n, claimed_class);
  if (!challenge) return challenge.status();
  Result<Commitment> commitment = prover.commit(*challenge);
  if (!commitment) return Status::error("prover failed to commit: " + commitment.message());
  Result<OpeningRequest> request = verifier.commitment(*commitment);
  if (!request) return request.status();
  Result<Opening> opening = prover.open(*request);
  if (!opening) return Status::error("prover failed to open: " + opening.message());
  return verifier.verdict(*opening);
}

}  // namespace flotilla::proof
