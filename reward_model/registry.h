// The provider registry (CSV): who may be paid, where to, for what kind of GPU
// and how long it was there. One row per provider:
//   provider,wallet,gpu_type,gpus,tflops,online_s
//   acme-01,4Nd1m...,H100-SXM,8,989,3600
// `tflops` is the verified dense BF16 TFLOPS per GPU with up to three decimals
// (empty when weights are by GPU type); `online_s` is the seconds the provider
// was online in the epoch, from heartbeats. Format in reward_model/README.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "reward_model/merkle.h"
#include "scheduler/status.h"

namespace flotilla::rewards {

// One registered provider; a value type.
struct Provider {
  std::string id;
  std::string wallet;  // base58, checked to decode to 32 bytes
  std::string gpu_type;
  std::uint32_t gpus = 0;
  std::optional<std::uint64_t> milli_tflops;  // verified TFLOPS x 1000
  std::uint64_t online_s = 0;
  std::size_t line = 0;  // in the registry file, for errors found later
};

// The registry of one epoch, sorted by provider id; a value type, safe to read
// from several threads.
struct Registry {
  std::string origin;  // file name, for errors
  std::vector<Provider> providers;
  std::unordered_map<std::string, std::size_t> index;  // id -> position

  const Provider* find(std::string_view id) const;
};

// Characters a provider id may use: it is a CSV field, a JSON string and part
// of the Merkle leaf, so no separators, quotes or white space.
bool valid_provider_id(std::string_view id);

// Parses and checks a registry. Errors are "ORIGIN:LINE: what".
Result<Registry> parse_registry(std::string_view csv, const std::string& origin);
Result<Registry> read_registry(const std::string& path);

}  // namespace flotilla::rewards
