// The oracle vectors in data/vectors.json (made by
// chain_settlement/testnet/gen_vectors.mjs with @solana/kit) and hex helpers.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace flotilla::chain::testing {

inline const nlohmann::json& vectors() {
  static const nlohmann::json kVectors = [] {
    std::ifstream in(std::string(FLOTILLA_SOURCE_DIR) +
                     "/tests/chain_settlement/data/vectors.json");
    return nlohmann::json::parse(in);
  }();
  return kVectors;
}

inline std::vector<std::uint8_t> from_hex(std::string_view hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

inline std::string to_hex(const auto& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

}  // namespace flotilla::chain::testing
