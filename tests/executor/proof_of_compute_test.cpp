// The proof-of-compute protocol pieces: the matrices both sides generate, the
// rows to open, the CPU prover, and the JSON of every message.
#include "executor/proof_of_compute.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <cmath>
#include <set>

#include "executor/proof_matrix.h"
#include "executor/proof_of_compute_cpu.h"

namespace flotilla::proof {
namespace {

TEST(ProofMatrix, ElementsAreNonZeroSixteenthsAndDependOnSeedAndPlace) {
  std::set<float> seen;
  int differ_by_seed = 0;
  for (std::uint32_t i = 0; i < 64; ++i) {
    for (std::uint32_t j = 0; j < 64; ++j) {
      const float a = matrix_element(42, Operand::kA, 64, i, j);
      ASSERT_NE(a, 0.0f);
      ASSERT_LE(std::fabs(a), 1.0f);
      ASSERT_EQ(a * 16, std::round(a * 16));  // exact in BF16: +-k/16
      seen.insert(a);
      differ_by_seed += a != matrix_element(43, Operand::kA, 64, i, j);
    }
  }
  EXPECT_EQ(seen.size(), 32u);  // every +-k/16 occurs
  EXPECT_GT(differ_by_seed, 64 * 64 * 8 / 10);
  EXPECT_NE(element_counter(Operand::kA, 64, 63, 63), element_counter(Operand::kB, 64, 0, 0));
}

TEST(ProofMatrix, CpuProductEqualsTheExactReference) {
  // FP32 accumulation is exact for these values (proof_matrix.h): no tolerance needed.
  const std::uint32_t n = 96;
  const std::vector<float> c = cpu_product(5, n);
  const std::vector<ReferenceRow> ref = reference_rows(5, n, {0, 17, 95});
  for (std::size_t r = 0; r < 3; ++r) {
    const std::uint32_t row = std::vector<std::uint32_t>{0, 17, 95}[r];
    for (std::uint32_t j = 0; j < n; ++j) {
      EXPECT_EQ(static_cast<double>(c[std::size_t{row} * n + j]), ref[r].exact[j]);
      EXPECT_GT(ref[r].magnitude[j], 0);
    }
  }
}

TEST(ChallengeRows, DistinctInRangeAndDependOnSecretAndRoot) {
  Digest secret{}, root{};
  secret[0] = 1;
  const std::vector<std::uint32_t> rows = challenge_rows(secret, root, 64, 20);
  ASSERT_EQ(rows.size(), 20u);
  EXPECT_EQ(std::set<std::uint32_t>(rows.begin(), rows.end()).size(), 20u);
  for (std::uint32_t r : rows) EXPECT_LT(r, 64u);
  EXPECT_EQ(challenge_rows(secret, root, 16, 16).size(), 16u);  // all rows, still terminates
  Digest other_secret = secret, other_root = root;
  other_secret[1] = 9;
  other_root[0] = 3;
  EXPECT_NE(challenge_rows(other_secret, root, 64, 20), rows);
  EXPECT_NE(challenge_rows(secret, other_root, 64, 20), rows);
}

TEST(CheckChallenge, SidesOutsideTheExactRangeAreRefused) {
  Challenge c;
  for (std::uint32_t bad : {0u, 8u, 100u, (1u << 14) + 16}) {
    c.n = bad;
    EXPECT_FALSE(check_challenge(c).is_ok()) << bad;
  }
  for (std::uint32_t good : {16u, 4096u, 1u << 14}) {
    c.n = good;
    EXPECT_TRUE(check_challenge(c).is_ok()) << good;
  }
}

TEST(CpuProver, RefusesASecretThatDoesNotMatchTheChallenge) {
  CpuProver prover;
  Challenge c;
  c.n = 32;
  c.seed = 3;
  Digest secret{};
  secret[0] = 7;
  c.secret_hash = Digest{};  // the hash of some other secret
  ASSERT_TRUE(prover.commit(c).is_ok());
  const Result<Opening> o = prover.open(OpeningRequest{secret, 4});
  ASSERT_FALSE(o.is_ok());
  EXPECT_NE(o.message().find("does not match"), std::string::npos);
}

// --- JSON round trips ---

Challenge sample_challenge() {
  Challenge c;
  c.seed = 0xfedcba9876543210ULL;  // above 2^53: must survive JSON
  c.n = 4096;
  c.secret_hash[0] = 0xab;
  c.secret_hash[31] = 0x01;
  c.claimed_class = "H100-SXM";
  return c;
}

TEST(ProofJson, ChallengeRoundTrips) {
  const Challenge c = sample_challenge();
  const Result<Challenge> back = challenge_from_json(nlohmann::json::parse(to_json(c).dump()), "m");
  ASSERT_TRUE(back.is_ok()) << back.message();
  EXPECT_EQ(back->seed, c.seed);
  EXPECT_EQ(back->n, c.n);
  EXPECT_EQ(back->precision, c.precision);
  EXPECT_EQ(back->secret_hash, c.secret_hash);
  EXPECT_EQ(back->claimed_class, c.claimed_class);
}

TEST(ProofJson, CommitmentOpeningRequestAndVerdictRoundTrip) {
  Commitment c{4096, {}};
  c.root[3] = 0x44;
  const Result<Commitment> cb = commitment_from_json(to_json(c), "m");
  ASSERT_TRUE(cb.is_ok()) << cb.message();
  EXPECT_EQ(cb->n, c.n);
  EXPECT_EQ(cb->root, c.root);

  OpeningRequest r{{}, 8};
  r.secret[0] = 0x10;
  const Result<OpeningRequest> rb = opening_request_from_json(to_json(r), "m");
  ASSERT_TRUE(rb.is_ok()) << rb.message();
  EXPECT_EQ(rb->secret, r.secret);
  EXPECT_EQ(rb->rows, 8u);

  Verdict v{false,
            "row 3: Merkle proof does not lead to the committed root",
            std::chrono::nanoseconds(123456789),
            512.5,
            "H100-SXM",
            "A100-SXM-80GB"};
  const Result<Verdict> vb = verdict_from_json(nlohmann::json::parse(to_json(v).dump()), "m");
  ASSERT_TRUE(vb.is_ok()) << vb.message();
  EXPECT_EQ(vb->accepted, v.accepted);
  EXPECT_EQ(vb->reason, v.reason);
  EXPECT_EQ(vb->elapsed, v.elapsed);
  EXPECT_EQ(vb->measured_tflops, v.measured_tflops);
  EXPECT_EQ(vb->claimed_class, v.claimed_class);
  EXPECT_EQ(vb->fastest_class, v.fastest_class);
}

TEST(ProofJson, OpeningRoundTripsBitForBit) {
  CpuProver prover;
  Challenge c;
  c.n = 32;
  c.seed = 11;
  Digest secret{};
  crypto_hash_sha256(c.secret_hash.data(), secret.data(), secret.size());
  ASSERT_TRUE(prover.commit(c).is_ok());
  Result<Opening> o = prover.open(OpeningRequest{secret, 3});
  ASSERT_TRUE(o.is_ok()) << o.message();
  o->rows[0].values[1] = -0.0f;  // the sign of zero is part of the hashed bytes
  const Result<Opening> back = opening_from_json(nlohmann::json::parse(to_json(*o).dump()), "m");
  ASSERT_TRUE(back.is_ok()) << back.message();
  ASSERT_EQ(back->rows.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back->rows[i].row, o->rows[i].row);
    EXPECT_EQ(back->rows[i].proof, o->rows[i].proof);
    EXPECT_EQ(row_leaf(back->rows[i].row, back->rows[i].values),
              row_leaf(o->rows[i].row, o->rows[i].values));
  }
}

TEST(ProofJson, BadMessagesNameTheField) {
  nlohmann::json j = to_json(sample_challenge());
  j["seed"] = "12";
  Result<Challenge> c = challenge_from_json(j, "challenge.json");
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.message(), "challenge.json: field 'seed': is not 16 hex digits");

  j = to_json(sample_challenge());
  j["precision"] = "fp8";
  EXPECT_NE(challenge_from_json(j, "m").message().find("unknown precision 'fp8'"),
            std::string::npos);
  j = to_json(sample_challenge());
  j["n"] = 100;
  EXPECT_NE(challenge_from_json(j, "m").message().find("field 'n'"), std::string::npos);
  j = to_json(sample_challenge());
  j.erase("secret_hash");
  EXPECT_EQ(challenge_from_json(j, "m").message(), "m: field 'secret_hash': missing");

  EXPECT_EQ(commitment_from_json(nlohmann::json{{"n", "x"}, {"root", ""}}, "m").message(),
            "m: field 'n': has the wrong type (string)");
  const nlohmann::json bad_row = {{"rows", {{{"row", 1}, {"values", "abc"}, {"proof", {}}}}}};
  EXPECT_NE(opening_from_json(bad_row, "m").message().find("rows[0]: field 'values'"),
            std::string::npos);
}

}  // namespace
}  // namespace flotilla::proof
