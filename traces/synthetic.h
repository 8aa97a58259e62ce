// Synthetic GPU workloads for capacity planning: a seeded mix of LLM batch
// inference, LoRA and full fine-tuning, small-model training, hyperparameter
// sweeps (several single-GPU trials submitted together) and occasional large
// pre-training runs. Every parameter sits in synthetic.cpp next to the
// published figure it comes from, or is labelled ASSUMED. Model jobs carry a
// ModelWork and a reference runtime on an H100-SXM computed by
// model_reference_runtime(), so `trace stats` and the simulator agree.
// Deterministic: the same options give the same trace on every platform
// (std::mt19937_64 and our own distribution code; no std:: distributions).
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "traces/trace.h"

namespace flotilla {

// H100 SXM5 dense BF16 peak (NVIDIA datasheet; REFERENCE.md) and the MFU
// reached in practice (38-43% for Llama 3 405B on H100s; REFERENCE.md).
inline constexpr double kH100Bf16Flops = 989e12;
inline constexpr double kReferenceMfu = 0.4;

// tokens x (6 training, 2 inference) x params / (989e12 x 0.4) / gpus,
// rounded, at least one second.
Seconds model_reference_runtime(const ModelWork& model, std::uint32_t gpus);

// Share of jobs per class, indexed by WorkloadClass (kUnknown is ignored).
using WorkloadMix = std::array<double, kWorkloadClasses>;
// ASSUMED default: no public trace gives an LLM-era class mix by job count.
inline constexpr WorkloadMix kDefaultWorkloadMix{
    0.0,   // unknown
    0.25,  // inference
    0.15,  // lora-finetune
    0.05,  // full-finetune
    0.35,  // small-training
    0.19,  // hpo-sweep (trials)
    0.01,  // pretraining
};

struct SyntheticOptions {
  std::uint64_t jobs = 10'000;
  // Poisson arrivals. Default: the Philly trace as derived by Sia, 82,247 jobs
  // from 2017-09-04 10:30:41 to 2017-12-22 08:02:11 (2,613.5 h) = 31.5 jobs/h.
  double jobs_per_hour = 31.5;
  std::optional<Seconds> span;  // when set: jobs_per_hour = jobs / span
  WorkloadMix mix = kDefaultWorkloadMix;
  std::uint64_t seed = 1;
};

// Errors are impossible by construction; nonsense options (negative weights,
// a zero rate) are clamped: weights below 0 count as 0, all-zero weights mean
// the default mix, and a rate <= 0 means the default rate.
Trace synthetic_workload(const SyntheticOptions& options);

}  // namespace flotilla
