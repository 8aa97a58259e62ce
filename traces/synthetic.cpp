// The synthetic workload generator; see synthetic.h. Figures are cited where
// they are used; "ASSUMED" marks the ones no published statistic gives.
#include "traces/synthetic.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <span>

#include "scheduler/gpu_catalog.h"

namespace flotilla {
namespace {

// Our own distributions over mt19937_64 (whose output the C++ standard fixes),
// so a seed gives the same trace with any standard library.
class Random {
 public:
  explicit Random(std::uint64_t seed) : engine_(seed) {}
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  // Uniform integer in [lo, hi].
  std::uint64_t between(std::uint64_t lo, std::uint64_t hi) {
    return lo + static_cast<std::uint64_t>(uniform() * static_cast<double>(hi - lo + 1));
  }
  double exponential(double mean) { return -mean * std::log1p(-uniform()); }
  // Standard normal, Box-Muller (one value per call; simple and portable).
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * 3.14159265358979323846 * u2);
  }
  double lognormal(double median, double sigma) { return median * std::exp(sigma * normal()); }
  // Index drawn with the given weights (sum > 0).
  std::size_t pick(std::span<const double> weights) {
    double total = 0;
    for (double w : weights) total += w;
    double x = uniform() * total;
    for (std::size_t i = 0; i < weights.size(); ++i) {
      if (x < weights[i]) return i;
      x -= weights[i];
    }
    return weights.size() - 1;
  }

 private:
  std::mt19937_64 engine_;
};

// A model size and the GPUs a job of that size takes.
struct ModelChoice {
  double params;
  std::uint32_t gpus;
  double weight;
};

// --- LLM batch inference. ASSUMED sizes (the Llama 2/3 family sizes 7-8B, 13B,
// 70B are the open models most served); 70B in BF16 is 140 GB of weights, so
// it needs at least two 80 GB GPUs: four leave room for the KV cache.
constexpr ModelChoice kInferenceModels[] = {{7e9, 1, 0.5}, {13e9, 1, 0.2}, {70e9, 4, 0.3}};
// ASSUMED: a batch job of about 100k prompts x 2k tokens = 2e8 tokens (median),
// spread a factor e either way (sigma 1).
constexpr double kInferenceTokensMedian = 2e8, kInferenceTokensSigma = 1.0;

// --- LoRA fine-tuning. ASSUMED sizes and GPUs (adapters keep the optimizer
// state small, so the frozen BF16 weights, 2 bytes/param, set the memory).
constexpr ModelChoice kLoraModels[] = {{7e9, 1, 0.5}, {13e9, 2, 0.3}, {70e9, 8, 0.2}};
// ASSUMED: 50k examples x 1k tokens, one epoch = 5e7 tokens (median).
constexpr double kLoraTokensMedian = 5e7, kLoraTokensSigma = 1.0;

// --- Full fine-tuning. Mixed-precision Adam holds about 16-18 bytes per
// parameter before sharding (REFERENCE.md): 7B ~ 120 GB -> 8 x 80 GB GPUs,
// 13B ~ 220 GB -> 16, 70B ~ 1.2 TB -> 64 (sharded, with activation room).
constexpr ModelChoice kFullFinetuneModels[] = {{7e9, 8, 0.6}, {13e9, 16, 0.3}, {70e9, 64, 0.1}};
// ASSUMED: 5e8 tokens (median), e.g. 250k examples x 2k tokens.
constexpr double kFullFinetuneTokensMedian = 5e8, kFullFinetuneTokensSigma = 0.8;

// --- Small-model training and sweep trials: the Philly trace as derived by Sia
// (shared/data README): median duration 1,144 s, mean 13,136 s. A lognormal
// with that median and mean has sigma = sqrt(2 ln(mean / median)).
constexpr double kPhillyMedianS = 1144, kPhillyMeanS = 13136;
// GPUs per job, counted from that file (82,247 jobs).
constexpr std::uint32_t kPhillyGpus[] = {1, 2, 4, 8, 12, 16, 24, 32, 64, 128};
constexpr double kPhillyGpuJobs[] = {76627, 1818, 1870, 1643, 7, 199, 7, 67, 6, 3};
// Sweep trials: one GPU each, submitted together. ASSUMED: 8-32 trials per
// sweep (uniform), each Philly's median long with a narrower spread (sigma 1)
// since trials are cut short by early stopping.
constexpr std::uint32_t kSweepMinTrials = 8, kSweepMaxTrials = 32;
constexpr double kTrialSigma = 1.0;

// --- Pre-training. Chinchilla-optimal data is about 20 tokens per parameter
// (Hoffmann et al. 2022, arXiv 2203.15556); INTELLECT-1 trained 10B parameters
// on 1T tokens on up to 112 H100s (arXiv 2412.01152). GPUs for 1B and 8B are
// ASSUMED (one and thirty-two 8-GPU nodes).
struct PretrainChoice {
  double params;
  double tokens;  // 0: tokens_per_param x params
  std::uint32_t gpus;
  double weight;  // ASSUMED
};
constexpr PretrainChoice kPretrainRuns[] = {
    {1e9, 0, 8, 0.6}, {8e9, 0, 256, 0.3}, {10e9, 1e12, 112, 0.1}};
constexpr double kTokensPerParam = 20, kTokensPerParamSigma = 0.5;  // sigma ASSUMED

// Sequence lengths and batches: ASSUMED common settings (Llama 2 pre-trained at
// 4,096 tokens; fine-tunes at 2,048).
constexpr std::uint32_t kPretrainSeqLen = 4096, kPretrainBatch = 1024;
constexpr std::uint32_t kFinetuneSeqLen = 2048, kFinetuneBatch = 64;

template <class T>
const T& weighted(Random& rng, std::span<const T> choices) {
  double w[8];
  for (std::size_t i = 0; i < choices.size(); ++i) w[i] = choices[i].weight;
  return choices[rng.pick(std::span<const double>(w, choices.size()))];
}

void model_job(TraceJob& job, GpuTypeId h100, double params, double tokens, std::uint32_t gpus,
               bool training, std::uint32_t seq_len, std::uint32_t batch) {
  ModelWork m{.params = params,
              .tokens = std::round(tokens),
              .seq_len = seq_len,
              .global_batch = batch,
              .training = training,
              .shardable = true};
  job.shape.total_gpus = gpus;
  job.work.reference_gpu = h100;
  job.work.reference_runtime = model_reference_runtime(m, gpus);
  job.work.model = m;
}

}  // namespace

Seconds model_reference_runtime(const ModelWork& m, std::uint32_t gpus) {
  const double flops = m.tokens * (m.training ? 6.0 : 2.0) * m.params;
  const double s = flops / (kH100Bf16Flops * kReferenceMfu) / std::max<std::uint32_t>(gpus, 1);
  return Seconds{std::max<std::int64_t>(1, std::llround(s))};
}

Trace synthetic_workload(const SyntheticOptions& options) {
  const GpuCatalog& catalog = GpuCatalog::builtin();
  const GpuTypeId h100 = catalog.find("H100-SXM").value();
  const GpuTypeId p100 = catalog.find("P100").value();  // Philly's GPU (sia_csv.h)

  Trace trace;
  trace.origin = "synthetic:" + std::to_string(options.jobs) + ":" + std::to_string(options.seed);
  trace.jobs.reserve(options.jobs);

  // Per-arrival weights: a sweep brings several trials at once, so its share
  // of arrivals is its share of jobs divided by the mean trials per sweep.
  WorkloadMix mix = options.mix;
  double total = 0;
  for (double& w : mix) total += (w = std::max(0.0, w));
  mix[0] = 0;
  if (!(total > 0)) mix = kDefaultWorkloadMix;
  const double mean_trials = (kSweepMinTrials + kSweepMaxTrials) / 2.0;
  WorkloadMix arrival = mix;
  arrival[static_cast<std::size_t>(WorkloadClass::kHpoSweep)] /= mean_trials;

  double rate = options.jobs_per_hour > 0 ? options.jobs_per_hour : 31.5;
  if (options.span && options.span->count() > 0) {
    rate = static_cast<double>(options.jobs) / (static_cast<double>(options.span->count()) / 3600);
  }
  const double mean_gap_s = 3600.0 / rate;
  const double philly_sigma = std::sqrt(2.0 * std::log(kPhillyMeanS / kPhillyMedianS));

  Random rng(options.seed);
  double clock = 0;
  while (trace.jobs.size() < options.jobs) {
    const auto cls = static_cast<WorkloadClass>(rng.pick(arrival));
    std::uint32_t count = 1;
    if (cls == WorkloadClass::kHpoSweep) {
      count = static_cast<std::uint32_t>(rng.between(kSweepMinTrials, kSweepMaxTrials));
      count = static_cast<std::uint32_t>(
          std::min<std::uint64_t>(count, options.jobs - trace.jobs.size()));
    }
    const Seconds submit{std::llround(clock)};
    for (std::uint32_t k = 0; k < count; ++k) {
      clock += rng.exponential(mean_gap_s);  // keeps the job (not arrival) rate
      TraceJob job;
      job.id = trace.jobs.size();
      job.submit = submit;
      job.workload = cls;
      switch (cls) {
        case WorkloadClass::kInference: {
          const ModelChoice& c = weighted<ModelChoice>(rng, kInferenceModels);
          model_job(job, h100, c.params,
                    rng.lognormal(kInferenceTokensMedian, kInferenceTokensSigma), c.gpus, false,
                    kFinetuneSeqLen, 0);
          break;
        }
        case WorkloadClass::kLoraFinetune: {
          const ModelChoice& c = weighted<ModelChoice>(rng, kLoraModels);
          model_job(job, h100, c.params, rng.lognormal(kLoraTokensMedian, kLoraTokensSigma), c.gpus,
                    true, kFinetuneSeqLen, kFinetuneBatch);
          break;
        }
        case WorkloadClass::kFullFinetune: {
          const ModelChoice& c = weighted<ModelChoice>(rng, kFullFinetuneModels);
          model_job(job, h100, c.params,
                    rng.lognormal(kFullFinetuneTokensMedian, kFullFinetuneTokensSigma), c.gpus,
                    true, kFinetuneSeqLen, kFinetuneBatch);
          break;
        }
        case WorkloadClass::kPretraining: {
          const PretrainChoice& c = weighted<PretrainChoice>(rng, kPretrainRuns);
          const double tokens =
              c.tokens > 0 ? c.tokens
                           : c.params * rng.lognormal(kTokensPerParam, kTokensPerParamSigma);
          model_job(job, h100, c.params, tokens, c.gpus, true, kPretrainSeqLen, kPretrainBatch);
          break;
        }
        case WorkloadClass::kHpoSweep:
          job.shape.total_gpus = 1;
          job.work.reference_gpu = p100;
          job.work.reference_runtime = Seconds{
              std::max<std::int64_t>(1, std::llround(rng.lognormal(kPhillyMedianS, kTrialSigma)))};
          break;
        case WorkloadClass::kSmallTraining:
        case WorkloadClass::kUnknown:
          job.workload = WorkloadClass::kSmallTraining;
          job.shape.total_gpus = kPhillyGpus[rng.pick(kPhillyGpuJobs)];
          job.work.reference_gpu = p100;
          job.work.reference_runtime = Seconds{
              std::max<std::int64_t>(1, std::llround(rng.lognormal(kPhillyMedianS, philly_sigma)))};
          break;
      }
      trace.jobs.push_back(std::move(job));
    }
  }
  return trace;
}

}  // namespace flotilla
