// The reward policy (TOML): how long an epoch is, how much each epoch emits,
// what a GPU-second of each kind is worth, how the emission splits between work
// done and availability, what a provider-fault failure costs, the minimum
// payout and an optional cap. The format is in reward_model/README.md.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "scheduler/status.h"

namespace flotilla::rewards {

inline constexpr std::uint64_t kBasisPoints = 10'000;  // 100%
inline constexpr std::uint64_t kPartsPerMillion = 1'000'000;

// Fixed: every epoch emits `first`. Decaying (io.net's shape, REFERENCE.md):
// epoch E emits `first` reduced `E / step_epochs` times by `decay_ppm` parts per
// million, each step rounded down, and nothing from epoch `epochs` on.
struct EmissionSchedule {
  enum class Kind : std::uint8_t { kFixed, kDecaying };
  Kind kind = Kind::kFixed;
  std::uint64_t first = 0;  // base units in epoch 0
  std::uint64_t step_epochs = 0;
  std::uint64_t decay_ppm = 0;
  std::optional<std::uint64_t> epochs;  // decaying: how many epochs emit at all
};

// What one GPU-second is worth: a table per GPU type, or the provider's
// verified TFLOPS (in thousandths) from the registry.
enum class WeightBy : std::uint8_t { kGpuType, kTflops };

// A parsed, checked policy; a value type.
struct Policy {
  std::int64_t genesis = 0;  // Unix seconds when epoch 0 starts
  std::int64_t epoch_length_s = 3600;
  EmissionSchedule emission;
  WeightBy weight_by = WeightBy::kGpuType;
  std::map<std::string, std::uint64_t> gpu_type_weights;  // weight_by == kGpuType
  std::uint64_t work_bps = 0;            // work pool, of kBasisPoints; availability gets the rest
  std::uint64_t provider_fault_bps = 0;  // penalty per weighted GPU-second lost to a provider fault
  std::uint64_t min_payout = 0;          // base units; less is carried to the next epoch
  std::optional<std::uint64_t> cap_bps;  // most one provider may earn, of the emission

  // [start, end) of epoch E in Unix seconds; fails past the 64-bit clock.
  Result<std::pair<std::int64_t, std::int64_t>> epoch_window(std::uint64_t epoch) const;
  std::uint64_t emission_of(std::uint64_t epoch) const;
};

// Largest weight accepted: keeps weight x GPU-seconds of a provider's epoch
// well inside 64 bits for any real fleet.
inline constexpr std::uint64_t kMaxWeight = 1'000'000'000;

// Parses and checks a policy. Errors are "FILE:LINE: what".
Result<Policy> parse_policy(std::string_view toml_text, const std::string& origin);
Result<Policy> read_policy(const std::string& path);

}  // namespace flotilla::rewards
