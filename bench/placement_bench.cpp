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

#include "scheduler/fleet_file.h"
#include "scheduler/placer.h"

namespace flotilla {
namespace {

const Fleet& ionet_scale() {
  static const Fleet fleet = [] {
    const char* env = std::getenv("FLOTILLA_BENCH_FLEET");
    const std::string path =
        env ? env : std::string(FLOTILLA_SOURCE_DIR) + "/examples/fleets/ionet-scale.toml";
    Result<Fleet> f = load_fleet_file(path);
    if (!f) {
      std::fprintf(stderr, "%s\n", f.message().c_str());
      std::exit(1);
    }
    return std::move(f).value();
  }();
  return fleet;
}

// Every `stride`-th switch of `big` with its nodes, keeping the tree above it.
Fleet every_nth_switch(const Fleet& big, std::uint32_t stride) {
  FleetBuilder b(big.name() + "/" + std::to_string(stride), big.catalog());
  std::uint32_t last_region = UINT32_MAX, last_site = UINT32_MAX;
  for (std::uint32_t sw = 0; sw < big.switches().size(); sw += stride) {
    const Switch& s = big.switches()[sw];
    const Site& site = big.sites()[s.site];
    if (site.region != last_region) {
      b.add_region(big.regions()[site.region].name, big.regions()[site.region].uplink);
      last_region = site.region;
    }
    if (s.site != last_site) {
      b.add_site(site.name, site.uplink);
      last_site = s.site;
    }
    b.add_switch(s.name, s.uplink);
    for (std::uint32_t n = s.first_node; n < s.first_node + s.num_nodes; ++n) {
      if (!b.add_node(big.node_name(n), big.nodes()[n], big.providers()[big.nodes()[n].provider])) {
        std::abort();  // the big fleet was valid, so its parts are
      }
    }
  }
  return std::move(b.build()).value();
}

const Fleet& fleet_of_size(const std::string& size) {
  static std::map<std::string, std::unique_ptr<Fleet>> fleets;
  if (size == "800k") return ionet_scale();
  auto& f = fleets[size];
  if (!f) f = std::make_unique<Fleet>(every_nth_switch(ionet_scale(), size == "100k" ? 8 : 800));
  return *f;
}

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
