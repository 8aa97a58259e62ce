// One io.net-scale epoch through the reward model (issue 5): 180,000 providers
// with 24 metering records each (4.32 M records, one hour), from records in
// memory to the statement with its Merkle root. Target: under 1 s on one core.
// Building the inputs is not timed; reading files is not part of the figure.
//
//   build/bench/reward_bench
#include <benchmark/benchmark.h>

#include <map>
#include <random>
#include <string>

#include "reward_model/rewards.h"

namespace flotilla::rewards {
namespace {

struct Epoch {
  Policy policy;
  Registry registry;
  MeterLog meter;
};

// Providers of three kinds (8xH100, 4090s at home, 3090s), each with 24 jobs
// of 150 s that fill its hour; one job in 50 lost to a provider fault.
Epoch io_net_hour(std::size_t providers, std::size_t records_each) {
  Epoch e;
  e.policy.genesis = 1764201600;
  e.policy.epoch_length_s = 3600;
  e.policy.emission.first = 456621000000;  // 4,566.21 IO at 10^8 base units
  e.policy.gpu_type_weights = {{"H100-SXM", 989}, {"RTX-4090", 165}, {"RTX-3090", 71}};
  e.policy.work_bps = 7000;
  e.policy.provider_fault_bps = 5000;
  e.policy.min_payout = 1;  // everyone paid: the Merkle tree has 180,000 leaves
  e.registry.origin = "bench";
  e.meter.origin = "bench";
  std::mt19937_64 rng(42);
  const char* types[] = {"H100-SXM", "RTX-4090", "RTX-3090"};
  const std::uint32_t gpus[] = {8, 1, 1};
  e.registry.providers.reserve(providers);
  e.meter.records.reserve(providers * records_each);
  const std::int64_t slot = 3600 / static_cast<std::int64_t>(records_each);
  for (std::size_t i = 0; i < providers; ++i) {
    const std::size_t kind = rng() % 3;
    Provider p;
    p.id = "node-" + std::to_string(100000 + i);
    p.wallet = "F8DJc7ZJKTNgR6GgCu9Dc3anGPSnrhrZwqw3iTW7A3jX";
    p.gpu_type = types[kind];
    p.gpus = gpus[kind];
    p.online_s = 1800 + rng() % 1801;
    p.line = i + 2;
    for (std::size_t k = 0; k < records_each; ++k) {
      MeterRecord r;
      r.job_id = std::to_string(i * records_each + k);
      r.provider = p.id;
      r.node = p.id;
      r.gpu_type = p.gpu_type;
      r.gpus = p.gpus;
      r.start = e.policy.genesis + static_cast<std::int64_t>(k) * slot;
      r.end = r.start + slot;
      r.gpu_seconds = rng() % (std::uint64_t{r.gpus} * static_cast<std::uint64_t>(slot) + 1);
      if (rng() % 50 == 0) {
        r.outcome = JobEndState::kNodeFail;
        r.fault = Fault::kProvider;
      }
      e.meter.records.push_back(std::move(r));
    }
    e.registry.providers.push_back(std::move(p));
  }
  // "node-1xxxxx" ids are already in sorted order.
  for (std::size_t i = 0; i < providers; ++i)
    e.registry.index.emplace(e.registry.providers[i].id, i);
  return e;
}

void BM_EpochStatement(benchmark::State& st) {
  const auto providers = static_cast<std::size_t>(st.range(0));
  // Built once per size: Google Benchmark calls this function several times.
  static std::map<std::size_t, Epoch> built;
  if (!built.count(providers)) built.emplace(providers, io_net_hour(providers, 24));
  const Epoch& e = built.at(providers);
  std::size_t payouts = 0;
  for (auto _ : st) {
    Result<Statement> s = compute_statement(EpochInputs{.epoch = 0,
                                                        .meter = &e.meter,
                                                        .registry = &e.registry,
                                                        .policy = &e.policy,
                                                        .previous = nullptr,
                                                        .digests = {}});
    if (!s) {
      st.SkipWithError(s.message().c_str());
      return;
    }
    payouts = s->payouts.size();
    benchmark::DoNotOptimize(s->merkle_root);
  }
  st.counters["providers"] = static_cast<double>(providers);
  st.counters["records"] = static_cast<double>(e.meter.records.size());
  st.counters["payouts"] = static_cast<double>(payouts);
}
BENCHMARK(BM_EpochStatement)->Arg(1000)->Arg(180000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace flotilla::rewards

BENCHMARK_MAIN();
