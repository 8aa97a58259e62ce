// Fleets the benchmarks share: ionet-scale.toml (800,000 GPUs) and slices of
// it with the same GPU mix and tree, so a benchmark can show how its cost
// grows with fleet size.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "scheduler/fleet_file.h"

namespace flotilla::bench {

inline const Fleet& ionet_scale() {
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
inline Fleet every_nth_switch(const Fleet& big, std::uint32_t stride) {
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

// "800k" (ionet-scale itself), "100k" or "1k" GPUs.
inline const Fleet& fleet_of_size(const std::string& size) {
  static std::map<std::string, std::unique_ptr<Fleet>> fleets;
  if (size == "800k") return ionet_scale();
  auto& f = fleets[size];
  if (!f) f = std::make_unique<Fleet>(every_nth_switch(ionet_scale(), size == "100k" ? 8 : 800));
  return *f;
}

}  // namespace flotilla::bench
