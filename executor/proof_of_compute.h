// Proof of compute: how a verifier checks, cheaply, that a provider's GPU
// really multiplied two large matrices and how fast it did it.
//
//   verifier                                   prover
//   Challenge{seed, n, precision,     ------>  generate A, B from the seed
//             SHA-256(secret), claim}          C = A x B; leaf = hash of each row
//                                     <------  Commitment{Merkle root over rows}
//   (clock stops: elapsed time gives TFLOP/s = 2 n^3 / time)
//   OpeningRequest{secret, k}         ------>  rows = derive(secret, root, k)
//                                     <------  Opening{those rows + Merkle proofs}
//   recompute the k rows on the CPU in O(k n^2), check them within the
//   precision's tolerance, check each proof against the root, check the
//   throughput against the claimed catalog class -> Verdict
//
// The rows to open come from a secret the prover sees only after it has
// committed, so it cannot compute just those rows; the secret's hash is in the
// challenge, so the verifier cannot pick rows after seeing the root either.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "executor/proof_merkle.h"
#include "scheduler/status.h"

namespace flotilla::proof {

// BF16 inputs, FP32 accumulation, FP32 output (an output rounded to BF16 would
// lose the exactness described in proof_matrix.h and fail the tolerance).
enum class Precision { kBf16Fp32 };
std::string_view precision_name(Precision p);
std::optional<Precision> find_precision(std::string_view name);

// Tolerance of one element of C. With the generator of proof_matrix.h every
// FP32-accumulating GEMM gets the exact result, so the bound only leaves room
// for an accumulator that drops up to two bits: |c - exact| <= 2^-22 *
// sum_k |a_ik b_kj|. FP16 accumulation (2^-11) or a BF16 output (2^-9 relative)
// are far outside it, and any wrong product is off by at least 2^-8.
constexpr double kRelativeTolerance = 1.0 / (1 << 22);

struct Challenge {
  std::uint64_t seed = 0;
  std::uint32_t n = 0;  // A, B and C are n x n
  Precision precision = Precision::kBf16Fp32;
  Digest secret_hash{};       // SHA-256 of the secret revealed after the commitment
  std::string claimed_class;  // catalog name the provider claims, e.g. "H100-SXM"
};

struct Commitment {
  std::uint32_t n = 0;
  Digest root{};  // Merkle root over the row leaves (proof_sha256.h row_leaf_hash)
};

struct OpeningRequest {
  Digest secret{};
  std::uint32_t rows = 0;  // k
};

struct RowOpening {
  std::uint32_t row = 0;
  std::vector<float> values;  // n FP32 values
  std::vector<Digest> proof;  // Merkle siblings from the leaf up
};

struct Opening {
  std::vector<RowOpening> rows;  // in the order challenge_rows() gives
};

// The verifier's answer (proof_verifier.h decides it).
struct Verdict {
  bool accepted = false;
  std::string reason;  // why not, or "ok"
  std::chrono::nanoseconds elapsed{0};
  double measured_tflops = 0;
  std::string claimed_class;
  std::string fastest_class;  // the fastest catalog class reached, "" for none
};

// The k distinct rows to open: SHA-256(secret || root || counter) drawn until
// k distinct values mod n. Both sides compute it. k <= n.
std::vector<std::uint32_t> challenge_rows(const Digest& secret, const Digest& root, std::uint32_t n,
                                          std::uint32_t k);

// The Merkle leaf of a row (proof_sha256.h row_leaf_hash).
Digest row_leaf(std::uint32_t row, const std::vector<float>& values);

// Rows of A x B, exact (in double), with the sum of |a_ik b_kj| per element:
// what the verifier checks opened rows against. O(k n^2) multiply-adds, and
// each element of B is generated once for all k rows.
struct ReferenceRow {
  std::vector<double> exact;
  std::vector<double> magnitude;
};
std::vector<ReferenceRow> reference_rows(std::uint64_t seed, std::uint32_t n,
                                         const std::vector<std::uint32_t>& rows);

// Whether the challenge can be proved: n a multiple of 16 in [16, 16384].
Status check_challenge(const Challenge& c);

// One side of the exchange. A prover is used by one verifier at a time; not
// thread-safe.
class Prover {
 public:
  virtual ~Prover() = default;
  // Gets ready for challenges of side n (memory, libraries, a warm-up run)
  // before any clock starts; a remote prover does this when it registers.
  virtual Status prepare(std::uint32_t /*n*/) { return Status::ok(); }
  virtual Result<Commitment> commit(const Challenge& challenge) = 0;
  virtual Result<Opening> open(const OpeningRequest& request) = 0;
};

// The rows to open for `request`, after checking that its secret is the one
// the challenge committed to (a verifier cannot pick rows after seeing the root).
Result<std::vector<std::uint32_t>> rows_to_open(const Challenge& challenge,
                                                const Commitment& commitment,
                                                const OpeningRequest& request);

// JSON of the protocol messages. Digests and the seed are hex strings (a u64 is
// not safe in every JSON reader); row values are the hex of their FP32
// little-endian bytes, exactly what the leaf hash covers.
nlohmann::json to_json(const Challenge& c);
nlohmann::json to_json(const Commitment& c);
nlohmann::json to_json(const OpeningRequest& r);
nlohmann::json to_json(const Opening& o);
nlohmann::json to_json(const Verdict& v);
// `origin` names the message in errors ("origin: field 'n': ...").
Result<Challenge> challenge_from_json(const nlohmann::json& j, const std::string& origin);
Result<Commitment> commitment_from_json(const nlohmann::json& j, const std::string& origin);
Result<OpeningRequest> opening_request_from_json(const nlohmann::json& j,
                                                 const std::string& origin);
Result<Opening> opening_from_json(const nlohmann::json& j, const std::string& origin);
Result<Verdict> verdict_from_json(const nlohmann::json& j, const std::string& origin);

}  // namespace flotilla::proof
