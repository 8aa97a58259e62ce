// The verifier side of proof of compute (protocol in proof_of_compute.h): it
// issues challenges, times the commitment, checks opened rows on the CPU and
// maps the measured throughput onto the GPU catalog's classes.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "executor/proof_of_compute.h"
#include "executor/proof_throughput_class.h"
#include "scheduler/gpu_catalog.h"

namespace flotilla::proof {

// Where the verifier reads time; injectable so that tests do not depend on
// how fast the machine running them is.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::nanoseconds now() = 0;
};
// std::chrono::steady_clock. Stateless; thread-safe.
class SteadyClock final : public Clock {
 public:
  std::chrono::nanoseconds now() override;
};

struct VerifierOptions {
  std::uint32_t rows = 8;  // k: rows opened; a prover that got a fraction f of
                           // the rows wrong passes with probability about (1-f)^k
  ThroughputRule rule;
};

// One exchange at a time: issue() -> commitment() -> verdict(). Holds
// references to the catalog and clock, which must outlive it. Not thread-safe.
class Verifier {
 public:
  Verifier(const GpuCatalog& catalog, Clock& clock, VerifierOptions options = {});

  // A fresh random seed and secret; starts the clock. `claimed_class` must be
  // in the catalog.
  Result<Challenge> issue(std::uint32_t n, const std::string& claimed_class);
  // Stops the clock and reveals the secret.
  Result<OpeningRequest> commitment(const Commitment& c);
  Verdict verdict(const Opening& opening);

 private:
  const GpuCatalog& catalog_;
  Clock& clock_;
  VerifierOptions options_;
  std::optional<Challenge> challenge_;
  Digest secret_{};
  std::chrono::nanoseconds started_{0};
  std::optional<Commitment> commitment_;
  std::chrono::nanoseconds elapsed_{0};
};

// The whole exchange in one process (the CLI's self-check and the tests).
// Errors from the prover become a rejected verdict naming them.
Result<Verdict> prove_and_verify(Verifier& verifier, Prover& prover, std::uint32_t n,
                                 const std::string& claimed_class);

}  // namespace flotilla::proof
