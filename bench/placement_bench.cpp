// Placement throughput under steady churn: the fleet is filled to about 80% of
// its GPUs, then every iteration gives back one random running job (while the
// fleet is above 80%) and places one new request. One thread, one core.
//
//   single: 1-GPU requests of any type;
//   mixed:  70% 1 GPU, 20% 2-8 GPUs on one node, 10% 16-256 GPUs as 2-32 whole
//           8-GPU nodes, a third of those with --switches=1 and a third with
//           --switches=2 (the rest unrestricted).
//
// Fleets: ionet-scale.toml (800k GPUs) and every n-th switch of it (100k and
// 1k GPUs, the same mix and tree), so the growth of the cost with fleet size
// is visible. Counters: items_per_second (placement attempts), placed (share
// that found room), bytes_per_gpu (Fleet + FleetState).
//
//   build/bench/placement_bench --benchmark_filter='800k'
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "bench/bench_fleets.h"
#include "scheduler/placer.h"

namespace flotilla {
namespace {

using bench::fleet_of_size;

PlacementRequest single_request(std::mt19937_64&) {
  return PlacementRequest{.nodes = 1, .gpus_per_node = 1, .total_gpus = 1};
}

PlacementRequest mixed_request(std::mt19937_64& rng) {
  const unsigned roll = rng() % 100;
  if (roll < 70) return single_request(rng);
  if (roll < 90) {
    const unsigned g = 2 + rng() % 7;  // 2..8 on one node
    return PlacementRequest{.nodes = 1, .gpus_per_node = g, .total_gpus = g};
  }
  const unsigned nodes = 2 + rng() % 31;  // 16..256 GPUs as whole 8-GPU nodes
  PlacementRequest r{.nodes = nodes, .gpus_per_node = 8, .total_gpus = nodes * 8};
  if (const unsigned k = rng() % 3; k > 0) r.max_switches = k;
  return r;
}

void churn(benchmark::State& st, const std::string& size,
           PlacementRequest (*next)(std::mt19937_64&)) {
  const Fleet& fleet = fleet_of_size(size);
  FleetState state(fleet);
  auto placer = std::move(make_placer("best-fit")).value();
  std::mt19937_64 rng(42);
  std::vector<Placement> running;
  const std::uint64_t target_free = fleet.total_gpus() / 5;  // 80% busy
  std::uint64_t misses = 0;
  while (state.free_whole_gpus() > target_free && misses < 1000) {
    if (auto p = placer->choose(state, next(rng))) {
      state.take(*p);
      running.push_back(std::move(*p));
    } else {
      ++misses;
    }
  }
  auto release_one = [&] {
    const std::size_t i = rng() % running.size();
    state.give_back(running[i]);
    running[i] = std::move(running.back());
    running.pop_back();
  };
  std::uint64_t attempts = 0, placed = 0;
  for (auto _ : st) {
    while (state.free_whole_gpus() < target_free && !running.empty()) release_one();
    if (auto p = placer->choose(state, next(rng))) {
      state.take(*p);
      running.push_back(std::move(*p));
      ++placed;
    }
    ++attempts;
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(attempts));
  st.counters["placed"] = attempts ? static_cast<double>(placed) / attempts : 0;
  st.counters["gpus"] = fleet.total_gpus();
  st.counters["busy"] = 1.0 - static_cast<double>(state.free_whole_gpus()) / fleet.total_gpus();
  st.counters["bytes_per_gpu"] =
      static_cast<double>(fleet.memory_bytes() + state.memory_bytes()) / fleet.total_gpus();
  st.counters["state_bytes_per_gpu"] =
      static_cast<double>(state.memory_bytes()) / fleet.total_gpus();
}

[[maybe_unused]] const bool registered = [] {
  for (const char* size : {"1k", "100k", "800k"}) {
    benchmark::RegisterBenchmark((std::string("place_single/") + size).c_str(),
                                 [size](benchmark::State& st) { churn(st, size, single_request); });
    benchmark::RegisterBenchmark((std::string("place_mixed/") + size).c_str(),
                                 [size](benchmark::State& st) { churn(st, size, mixed_request); });
  }
  return true;
}();

}  // namespace
}  // namespace flotilla

BENCHMARK_MAIN();
