// Small fleets built in code for placement tests: exact shapes, no files.
#pragma once

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "scheduler/fleet.h"

namespace flotilla::testing {

inline GpuTypeId type_id(const char* name) {
  return *GpuCatalog::builtin().find(name);
}

inline Node node_of(const char* gpu, unsigned gpus, unsigned domain = 1) {
  const GpuType& t = GpuCatalog::builtin().at(type_id(gpu));
  Node n;
  n.gpu_type = type_id(gpu);
  n.gpu_count = static_cast<std::uint8_t>(gpus);
  n.nvlink_domain_size = static_cast<std::uint8_t>(domain);
  n.price_micro_usd_per_gpu_hour = t.price_micro_usd_per_hour;
  n.watts = static_cast<std::uint32_t>(t.watts * gpus);
  n.uplink = Link{.gbps = 100, .latency_us = 5};
  return n;
}

// Adds `count` nodes named PREFIX-i to the builder's last switch.
inline void add_nodes(FleetBuilder& b, const std::string& prefix, unsigned count, const Node& n) {
  for (unsigned i = 0; i < count; ++i) {
    const std::string name = prefix + "-" + std::to_string(i);
    ASSERT_TRUE(b.add_node(name, n, name).is_ok());
  }
}

inline Fleet built(FleetBuilder& b) {
  Result<Fleet> f = b.build();
  EXPECT_TRUE(f.is_ok()) << f.message();
  return std::move(f).value();
}

// Two 4-GPU RTX 4090 nodes under one switch.
inline Fleet eight_gpus() {
  FleetBuilder b("eight");
  b.add_region("r", Link{1, 1});
  b.add_site("s", Link{1, 1});
  b.add_switch("w", Link{100, 1});
  add_nodes(b, "n", 2, node_of("RTX4090", 4));
  return built(b);
}

// A random fleet of 1-2 regions, 1-2 sites each, 1-3 switches each, 1-4 nodes
// per switch; GPU types, counts (1, 2, 4 or 8) and NVLink domains vary by node.
inline Fleet random_fleet(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&](unsigned n) { return static_cast<unsigned>(rng() % n); };
  const char* types[] = {"H100-SXM", "RTX4090", "A100-SXM-80GB"};
  const unsigned counts[] = {1, 2, 4, 8};
  FleetBuilder b("random-" + std::to_string(seed));
  const unsigned regions = 1 + pick(2);
  for (unsigned r = 0; r < regions; ++r) {
    b.add_region("r" + std::to_string(r), Link{1, 80000});
    const unsigned sites = 1 + pick(2);
    for (unsigned s = 0; s < sites; ++s) {
      const std::string site = "r" + std::to_string(r) + "s" + std::to_string(s);
      b.add_site(site, Link{10, 1000});
      const unsigned switches = 1 + pick(3);
      for (unsigned w = 0; w < switches; ++w) {
        const std::string sw = site + "w" + std::to_string(w);
        b.add_switch(sw, Link{100, 10});
        const unsigned nodes = 1 + pick(4);
        for (unsigned n = 0; n < nodes; ++n) {
          const unsigned gpus = counts[pick(4)];
          const unsigned domain = gpus >= 2 && pick(2) ? gpus / (1 + pick(2)) : 1;
          const std::string name = sw + "n" + std::to_string(n);
          EXPECT_TRUE(b.add_node(name, node_of(types[pick(3)], gpus, domain), name).is_ok());
        }
      }
    }
  }
  return built(b);
}

}  // namespace flotilla::testing
