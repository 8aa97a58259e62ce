// Proof of compute end to end with the CPU prover: the honest prover passes and
// every cheat fails for the reason it should. The clock is injected, so the
// throughput verdicts do not depend on how fast this machine is.
#include "executor/proof_verifier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <random>

#include "executor/proof_of_compute_cpu.h"

namespace flotilla::proof {
namespace {

constexpr std::uint32_t kN = 256;

// Time moves only when a prover says so.
class ManualClock final : public Clock {
 public:
  std::chrono::nanoseconds now() override { return now_; }
  void advance(std::chrono::nanoseconds d) { now_ += d; }

 private:
  std::chrono::nanoseconds now_{1000};
};

// The time a card of `tflops` takes for an n^3 GEMM.
std::chrono::nanoseconds gemm_time(std::uint32_t n, double tflops) {
  return std::chrono::nanoseconds(
      static_cast<std::int64_t>(2.0 * n * n * double(n) / (tflops * 1e3) + 0.5));
}

// Any prover, as slow as a card of the given TFLOP/s.
class TimedProver final : public Prover {
 public:
  TimedProver(Prover& inner, ManualClock& clock, double tflops)
      : inner_(inner), clock_(clock), tflops_(tflops) {}
  Result<Commitment> commit(const Challenge& c) override {
    clock_.advance(gemm_time(c.n, tflops_));
    return inner_.commit(c);
  }
  Result<Opening> open(const OpeningRequest& r) override { return inner_.open(r); }

 private:
  Prover& inner_;
  ManualClock& clock_;
  double tflops_;
};

// Commits to `committed(seed, n)`, opens from `opened(seed, n)` (the same
// matrix unless a test wants otherwise), and lets a test rewrite the opening.
class ScriptedProver final : public Prover {
 public:
  using MatrixOf = std::function<std::vector<float>(std::uint64_t, std::uint32_t)>;
  ScriptedProver(MatrixOf committed, MatrixOf opened = nullptr,
                 std::function<void(Opening&)> rewrite = nullptr)
      : committed_of_(std::move(committed)),
        opened_of_(std::move(opened)),
        rewrite_(std::move(rewrite)) {}

  Result<Commitment> commit(const Challenge& c) override {
    challenge_ = c;
    committed_.emplace(c.n, committed_of_(c.seed, c.n));
    return committed_->commitment();
  }
  Result<Opening> open(const OpeningRequest& r) override {
    Result<std::vector<std::uint32_t>> rows =
        rows_to_open(*challenge_, committed_->commitment(), r);
    if (!rows) return rows.status();
    Opening o = opened_of_
                    ? CommittedMatrix(challenge_->n, opened_of_(challenge_->seed, challenge_->n))
                          .open(*rows)
                    : committed_->open(*rows);
    if (rewrite_) rewrite_(o);
    return o;
  }

 private:
  MatrixOf committed_of_, opened_of_;
  std::function<void(Opening&)> rewrite_;
  std::optional<Challenge> challenge_;
  std::optional<CommittedMatrix> committed_;
};

std::vector<float> random_matrix(std::uint64_t seed, std::uint32_t n) {
  std::mt19937 rng(static_cast<std::uint32_t>(seed));
  std::uniform_int_distribution<int> d(-64, 64);
  std::vector<float> m(std::size_t{n} * n);
  for (float& v : m) v = static_cast<float>(d(rng)) / 4.0f;
  return m;
}

class ProofVerifierTest : public ::testing::Test {
 protected:
  Verdict run(Prover& prover, double tflops, const std::string& claim = "H100-SXM") {
    TimedProver timed(prover, clock_, tflops);
    Verifier verifier(GpuCatalog::builtin(), clock_);
    Result<Verdict> v = prove_and_verify(verifier, timed, kN, claim);
    EXPECT_TRUE(v.is_ok()) << v.message();
    return v.is_ok() ? *v : Verdict{};
  }
  ManualClock clock_;
};

TEST_F(ProofVerifierTest, HonestProverAtH100SpeedIsAccepted) {
  CpuProver honest;
  const Verdict v = run(honest, 800);
  EXPECT_TRUE(v.accepted) << v.reason;
  EXPECT_EQ(v.reason, "ok");
  EXPECT_EQ(v.elapsed, gemm_time(kN, 800));
  EXPECT_NEAR(v.measured_tflops, 800, 20);  // 42 ns of simulated time: coarse
  EXPECT_EQ(v.claimed_class, "H100-SXM");
  EXPECT_EQ(v.fastest_class, "H100-SXM");
}

TEST_F(ProofVerifierTest, SlowerCardClaimingAFasterClassIsRejected) {
  CpuProver honest;  // right answers, A100-class speed
  const Verdict v = run(honest, 230);
  EXPECT_FALSE(v.accepted);
  EXPECT_NE(v.reason.find("below the"), std::string::npos) << v.reason;
  EXPECT_EQ(v.fastest_class, "A100-SXM-80GB");
  // The same card claiming what it is passes.
  const Verdict fair = run(honest, 230, "A100-SXM-80GB");
  EXPECT_TRUE(fair.accepted) << fair.reason;
}

TEST_F(ProofVerifierTest, AnH100PcieCannotPassAsAnH100Sxm) {
  CpuProver honest;
  // An H100 PCIe at 80% of its 756 TFLOP/s peak.
  EXPECT_FALSE(run(honest, 605).accepted);
  EXPECT_TRUE(run(honest, 605, "H100-PCIe").accepted);
}

TEST_F(ProofVerifierTest, MadeUpRowsFailTheirMerkleProofs) {
  ScriptedProver cheat(cpu_product, nullptr, [](Opening& o) {
    for (RowOpening& r : o.rows) {
      const std::vector<float> fake = random_matrix(r.row, kN);
      r.values.assign(fake.begin(), fake.begin() + kN);
    }
  });
  const Verdict v = run(cheat, 800);
  EXPECT_FALSE(v.accepted);
  EXPECT_NE(v.reason.find("Merkle proof"), std::string::npos) << v.reason;
}

TEST_F(ProofVerifierTest, AMadeUpMatrixCommittedUpFrontFailsTheRecomputation) {
  ScriptedProver cheat(random_matrix);
  const Verdict v = run(cheat, 800);
  EXPECT_FALSE(v.accepted);
  EXPECT_NE(v.reason.find("is not A x B"), std::string::npos) << v.reason;
}

TEST_F(ProofVerifierTest, ASmallerMatrixPaddedToSizeIsCaught) {
  ScriptedProver cheat([](std::uint64_t seed, std::uint32_t n) {
    const std::vector<float> half = cpu_product(seed, n / 2);
    std::vector<float> padded(std::size_t{n} * n, 0.0f);
    for (std::uint32_t i = 0; i < n / 2; ++i) {
      std::copy_n(&half[std::size_t{i} * (n / 2)], n / 2, &padded[std::size_t{i} * n]);
    }
    return padded;
  });
  const Verdict v = run(cheat, 800);
  EXPECT_FALSE(v.accepted);
  EXPECT_NE(v.reason.find("is not A x B"), std::string::npos) << v.reason;
}

TEST_F(ProofVerifierTest, RowsComputedAfterTheChallengeFromAnotherCMissTheCommitment) {
  // Commits to a cheap made-up C, then computes the true C once it knows
  // which rows are asked for: right values, but not what it committed to.
  ScriptedProver cheat(random_matrix, cpu_product);
  const Verdict v = run(cheat, 800);
  EXPECT_FALSE(v.accepted);
  EXPECT_NE(v.reason.find("Merkle proof does not lead to the committed root"), std::string::npos)
      << v.reason;
}

TEST_F(ProofVerifierTest, TheWrongSeedIsCaught) {
  ScriptedProver cheat(
      [](std::uint64_t seed, std::uint32_t n) { return cpu_product(seed + 1, n); });
  const Verdict v = run(cheat, 800);
  EXPECT_FALSE(v.accepted);
  EXPECT_NE(v.reason.find("is not A x B"), std::string::npos) << v.reason;
}

TEST_F(ProofVerifierTest, OneBf16StepOffInEveryRowIsOutsideTheTolerance) {
  // What a BF16 output or a low-precision accumulator would leave behind.
  ScriptedProver cheat([](std::uint64_t seed, std::uint32_t n) {
    std::vector<float> c = cpu_product(seed, n);
    for (std::uint32_t i = 0; i < n; ++i) c[std::size_t{i} * n + i % n] += 1.0f / 256;
    return c;
  });
  const Verdict v = run(cheat, 800);
  EXPECT_FALSE(v.accepted);
  EXPECT_NE(v.reason.find("is not A x B"), std::string::npos) << v.reason;
}

TEST_F(ProofVerifierTest, TamperedOpeningsAreRejected) {
  const std::vector<std::pair<const char*, std::function<void(Opening&)>>> tampers = {
      {"flipped proof byte", [](Opening& o) { o.rows[2].proof[1][7] ^= 0x20; }},
      {"missing proof hash", [](Opening& o) { o.rows[0].proof.pop_back(); }},
      {"extra proof hash", [](Opening& o) { o.rows[0].proof.push_back(o.rows[0].proof[0]); }},
      {"proofs swapped", [](Opening& o) { std::swap(o.rows[0].proof, o.rows[1].proof); }},
      {"rows swapped", [](Opening& o) { std::swap(o.rows[0], o.rows[1]); }},
      {"row renumbered", [](Opening& o) { o.rows[0].row = (o.rows[0].row + 1) % kN; }},
      {"row dropped", [](Opening& o) { o.rows.pop_back(); }},
      {"row truncated", [](Opening& o) { o.rows[3].values.pop_back(); }},
      {"value changed", [](Opening& o) { o.rows[1].values[5] += 1; }},
  };
  for (const auto& [name, tamper] : tampers) {
    ScriptedProver cheat(cpu_product, nullptr, tamper);
    const Verdict v = run(cheat, 800);
    EXPECT_FALSE(v.accepted) << name;
    EXPECT_FALSE(v.reason.empty()) << name;
  }
}

TEST_F(ProofVerifierTest, MessagesOutOfTurnOrOfTheWrongSizeAreRefused) {
  Verifier verifier(GpuCatalog::builtin(), clock_);
  EXPECT_FALSE(verifier.commitment(Commitment{kN, {}}).is_ok());
  EXPECT_FALSE(verifier.verdict(Opening{}).accepted);
  EXPECT_FALSE(verifier.issue(kN, "no-such-gpu").is_ok());
  EXPECT_FALSE(verifier.issue(100, "H100-SXM").is_ok());
  ASSERT_TRUE(verifier.issue(kN, "h100").is_ok());  // aliases resolve to the class
  EXPECT_FALSE(verifier.commitment(Commitment{kN / 2, {}}).is_ok());
  ASSERT_TRUE(verifier.commitment(Commitment{kN, {}}).is_ok());
  EXPECT_FALSE(verifier.commitment(Commitment{kN, {}}).is_ok());  // twice
}

}  // namespace
}  // namespace flotilla::proof
